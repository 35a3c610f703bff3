package app_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The dependency rule is the architecture: the inner packages import none of
// the adapted technologies.
func TestInnerPackagesImportNoAdaptedDependency(t *testing.T) {
	forbidden := []string{"github.com/uptrace/bun", "github.com/jackc/pgx", "github.com/go-chi/chi",
		"github.com/golang-jwt/jwt", "go.uber.org/fx", "go.uber.org/dig", "github.com/lib/pq"}
	for _, pkg := range []string{"domain", "tenancy", "ports", "app"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/schemata/schemata/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
			if pkg == "domain" && strings.HasPrefix(dep, "github.com/schemata/schemata/") && dep != "github.com/schemata/schemata/domain" {
				t.Errorf("domain imports %s; it must import only the standard library", dep)
			}
			if !strings.HasPrefix(dep, "github.com/schemata/schemata/") {
				t.Errorf("%s depends on third-party package %s", pkg, dep)
			}
		}
	}
}

// Only cmd/ and the adapters' module.go files (and the module_test.go that
// validates each) import fx.
func TestOnlyCompositionRootsImportFx(t *testing.T) {
	root := filepath.Join("..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "cmd/") || (strings.HasPrefix(rel, "adapters/") && (filepath.Base(rel) == "module.go" || filepath.Base(rel) == "module_test.go")) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p := strings.Trim(imp.Path.Value, `"`); p == "go.uber.org/fx" || strings.HasPrefix(p, "go.uber.org/fx/") {
				t.Errorf("%s imports %s; only cmd/ and adapters' module.go may", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
