package tenancy

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one forward-only SQL migration. Tenant migrations are written
// unqualified so that the same SQL serves every schema under a transaction-scoped
// search_path.
type Migration struct {
	Version int64  // from the file name: 0001_init.sql → 1
	Name    string // init
	SQL     string
}

// MigrationSet is an ordered list of migrations with strictly increasing versions.
type MigrationSet []Migration

// Latest returns the highest version, 0 for an empty set.
func (s MigrationSet) Latest() int64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].Version
}

// After returns the migrations with a version greater than v.
func (s MigrationSet) After(v int64) MigrationSet {
	i := sort.Search(len(s), func(i int) bool { return s[i].Version > v })
	return s[i:]
}

// LoadMigrations reads every "NNNN_name.sql" file at the root of fsys. Other
// files are rejected so that a misnamed migration is never silently skipped.
func LoadMigrations(fsys fs.FS) (MigrationSet, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("tenancy: read migrations: %w", err)
	}
	var set MigrationSet
	seen := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.EqualFold(path.Ext(name), ".md") {
			continue
		}
		base, ok := strings.CutSuffix(name, ".sql")
		num, label, ok2 := strings.Cut(base, "_")
		if !ok || !ok2 || label == "" {
			return nil, fmt.Errorf("tenancy: migration file %q is not named NNNN_name.sql", name)
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("tenancy: migration file %q: version must be a positive integer", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("tenancy: migrations %q and %q share version %d", prev, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("tenancy: read migration %q: %w", name, err)
		}
		if strings.TrimSpace(string(body)) == "" {
			return nil, fmt.Errorf("tenancy: migration %q is empty", name)
		}
		set = append(set, Migration{Version: v, Name: label, SQL: string(body)})
	}
	sort.Slice(set, func(i, j int) bool { return set[i].Version < set[j].Version })
	return set, nil
}
