package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/adapters/postgres/pgtest"
)

// run executes fn with stdout captured; it returns what was printed.
func capture(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	old := stdout
	stdout = &buf
	defer func() { stdout = old }()
	err := fn()
	return buf.String(), err
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func exec(t *testing.T, dsn, q string) {
	t.Helper()
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

// The fleet CLI end to end on a fresh database: create, list, migrate
// (nothing to do), status, verify (clean, then drift → exit 1), export and
// import, and drop (refused without confirmation, done with --yes).
func TestTenantsCLI(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	g := &Globals{DatabaseURL: dsn, DBMaxConns: 6}
	log := quietLogger()
	if err := (&MigrateCmd{}).Run(g, log); err != nil {
		t.Fatal(err)
	}

	out, err := capture(t, func() error { return (&TenantsCreateCmd{Output: Output{JSON: true}, Name: "Acme"}).Run(g, log) })
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID     int64  `json:"id"`
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == 0 || created.Schema != "company_"+strconv.FormatInt(created.ID, 10) {
		t.Fatalf("create: %q %v", out, err)
	}
	id := strconv.FormatInt(created.ID, 10)

	out, err = capture(t, func() error { return (&TenantsListCmd{Output: Output{JSON: true}}).Run(g, log) })
	var list []statusJSON
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].Status != "ok" || list[0].Version != list[0].Latest {
		t.Fatalf("list: %q %v", out, err)
	}

	out, err = capture(t, func() error { return (&TenantsMigrateCmd{Output: Output{JSON: true}, DryRun: true}).Run(g, log) })
	if err != nil || !strings.Contains(out, `"nothing_to_do": true`) {
		t.Fatalf("dry run: %q %v", out, err)
	}
	out, err = capture(t, func() error { return (&TenantsMigrateCmd{}).Run(g, log) })
	if err != nil || !strings.Contains(out, "nothing to do") {
		t.Fatalf("migrate: %q %v", out, err)
	}
	if _, err := capture(t, func() error { return (&TenantsMigrateCmd{Only: []string{"x"}}).Run(g, log) }); exitCode(err) != exitCannotRun {
		t.Fatalf("bad --only: %v", err)
	}

	if out, err = capture(t, func() error { return (&TenantsStatusCmd{}).Run(g, log) }); err != nil || !strings.Contains(out, "1 ok") {
		t.Fatalf("status: %q %v", out, err)
	}
	if out, err = capture(t, func() error { return (&TenantsVerifyCmd{}).Run(g, log) }); err != nil || !strings.Contains(out, "1 match, 0 drifted") {
		t.Fatalf("verify: %q %v", out, err)
	}

	file := filepath.Join(t.TempDir(), "acme.schemata")
	if out, err = capture(t, func() error { return (&TenantsExportCmd{ID: id, Out: file}).Run(g, log) }); err != nil || !strings.Contains(out, "exported tenant "+id) {
		t.Fatalf("export: %q %v", out, err)
	}
	if _, err = capture(t, func() error { return (&TenantsExportCmd{ID: id, Out: file}).Run(g, log) }); err == nil {
		t.Fatal("export overwrote an existing file")
	}
	out, err = capture(t, func() error {
		return (&TenantsImportCmd{Output: Output{JSON: true}, File: file, Name: "Acme copy"}).Run(g, log)
	})
	var imported struct {
		CompanyID int64 `json:"company_id"`
	}
	if err != nil || json.Unmarshal([]byte(out), &imported) != nil || imported.CompanyID == 0 || imported.CompanyID == created.ID {
		t.Fatalf("import: %q %v", out, err)
	}

	// Drift in one tenant: verify reports it and exits 1.
	exec(t, dsn, `ALTER TABLE "company_`+id+`".teams ADD COLUMN surprise int`)
	out, err = capture(t, func() error { return (&TenantsVerifyCmd{}).Run(g, log) })
	if exitCode(err) != exitTenantFailed || !strings.Contains(out, "tenant "+id) || !strings.Contains(out, "surprise") {
		t.Fatalf("verify with drift: %q %v", out, err)
	}

	// Drop: refused without confirmation (no terminal), done with --yes.
	if _, err = capture(t, func() error { return (&TenantsDropCmd{ID: id}).Run(g, log) }); exitCode(err) != exitCannotRun {
		t.Fatalf("drop without --yes: %v", err)
	}
	if out, err = capture(t, func() error { return (&TenantsDropCmd{ID: id, Yes: true}).Run(g, log) }); err != nil || !strings.Contains(out, "dropped tenant "+id) {
		t.Fatalf("drop: %q %v", out, err)
	}
	if _, err = capture(t, func() error { return (&TenantsDropCmd{ID: id, Yes: true}).Run(g, log) }); err == nil {
		t.Fatal("dropping an absent tenant succeeded")
	}
	out, err = capture(t, func() error { return (&TenantsListCmd{Output: Output{JSON: true}}).Run(g, log) })
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].CompanyID != imported.CompanyID {
		t.Fatalf("list after drop: %q %v", out, err)
	}
}

// A tenant with users is dropped only with --force.
func TestTenantsDropForce(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	g := &Globals{DatabaseURL: dsn, DBMaxConns: 4}
	log := quietLogger()
	if _, err := capture(t, func() error { return (&TenantsCreateCmd{Name: "Acme"}).Run(g, log) }); err != nil {
		t.Fatal(err)
	}
	exec(t, dsn, `INSERT INTO company_1.users (name, email, password_hash, role) VALUES ('A', 'a@acme.example', 'x', 'admin');
		INSERT INTO public.user_company_lookup (email, company_id) VALUES ('a@acme.example', 1)`)
	_, err := capture(t, func() error { return (&TenantsDropCmd{ID: "1", Yes: true}).Run(g, log) })
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("drop of a tenant with users: %v", err)
	}
	if _, err := capture(t, func() error { return (&TenantsDropCmd{ID: "1", Yes: true, Force: true}).Run(g, log) }); err != nil {
		t.Fatal(err)
	}
	out, _ := capture(t, func() error { return (&TenantsListCmd{Output: Output{JSON: true}}).Run(g, log) })
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("list after forced drop: %q", out)
	}
}

func TestImportMonolithBadSource(t *testing.T) {
	g := &Globals{DatabaseURL: pgtest.NewDatabase(t), DBMaxConns: 4}
	_, err := capture(t, func() error {
		return (&ImportMonolithCmd{From: "postgres://postgres@127.0.0.1:5432/no_such_db_here?sslmode=disable", SourceSchema: "public"}).Run(g, quietLogger())
	})
	if err == nil {
		t.Fatal("import from a missing database succeeded")
	}
}
