package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/adapters/postgres/pgtest"
	"github.com/schemata/schemata/domain"
)

type monoCompany struct {
	id   int64
	name string
	tag  string
}

// buildMonolith creates a fresh database holding Schemata's tenant tables in
// one schema, each with a company_id column, and a companies table: for
// each company a scratch schema is built with the tenant migrations, the
// reference seed and populateTenant, then its rows are copied into the
// shared tables, then the scratch schemas are dropped. It returns the URL
// and a handle.
func buildMonolith(t testing.TB, ts postgres.TenantSchema, schema string, companies []monoCompany) (string, *bun.DB, []string) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	db, err := postgres.Open(dsn, postgres.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	must := func(q string, args ...any) {
		t.Helper()
		if _, err := db.NewRaw(q, args...).Exec(ctx); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, c := range companies {
		scratch := fmt.Sprintf("scratch_%d", c.id)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Tx.ExecContext(ctx, "CREATE SCHEMA "+scratch+"; SET LOCAL search_path TO "+scratch); err != nil {
			t.Fatal(err)
		}
		for _, m := range ts.Migrations {
			if _, err := tx.Tx.ExecContext(ctx, m.SQL); err != nil {
				t.Fatalf("migration %d: %v", m.Version, err)
			}
		}
		h := postgres.Handle{DB: db, Conn: tx}
		if err := postgres.ReferenceSeed(ctx, h); err != nil {
			t.Fatal(err)
		}
		if err := populateTenant(ctx, h, c.tag); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if schema != "public" {
		must("CREATE SCHEMA ?", bun.Ident(schema))
	}
	must("CREATE TABLE ?.companies (id bigint PRIMARY KEY, name text NOT NULL, plan text NOT NULL DEFAULT 'free')", bun.Ident(schema))
	first := fmt.Sprintf("scratch_%d", companies[0].id)
	tables := tenantTables(t, db, first)
	for _, c := range companies {
		must("INSERT INTO ?.companies (id, name) VALUES (?, ?)", bun.Ident(schema), c.id, c.name)
	}
	for _, table := range tables {
		must("CREATE TABLE ?.? (LIKE ?.? INCLUDING DEFAULTS)", bun.Ident(schema), bun.Ident(table), bun.Ident(first), bun.Ident(table))
		must("ALTER TABLE ?.? ADD COLUMN company_id bigint NOT NULL REFERENCES ?.companies (id)", bun.Ident(schema), bun.Ident(table), bun.Ident(schema))
		for _, c := range companies {
			must("INSERT INTO ?.? SELECT *, ? FROM ?.?", bun.Ident(schema), bun.Ident(table), c.id,
				bun.Ident(fmt.Sprintf("scratch_%d", c.id)), bun.Ident(table))
		}
	}
	for _, c := range companies {
		must("DROP SCHEMA ? CASCADE", bun.Ident(fmt.Sprintf("scratch_%d", c.id)))
	}
	return dsn, db, tables
}

// sourceState dumps every table of the source schema (nil entries for
// tables that do not exist), to prove the source untouched.
func sourceState(t testing.TB, db *bun.DB, schema string, tables []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range append([]string{"companies"}, tables...) {
		if tableExists(t, db, schema+"."+table) {
			out[table] = dumpTable(t, db, schema, table)
		}
	}
	return out
}

func resultsByStatus(rep postgres.MonolithReport) map[int64]string {
	out := map[int64]string{}
	for _, c := range rep.Companies {
		out[c.SourceCompanyID] = c.Status
	}
	return out
}

// assertCompanyImported compares every table of the imported tenant with
// the source company's rows, over the tenant table's columns.
func assertCompanyImported(t testing.TB, src, dst *bun.DB, tables []string, srcID int64, res postgres.MonolithCompanyResult, name string) {
	t.Helper()
	id := res.CompanyID
	if !id.Valid() {
		t.Fatalf("source company %d: no company id in %+v", srcID, res)
	}
	if got := queryString(t, dst, "SELECT name FROM public.companies WHERE id = ?", int64(id)); got != name {
		t.Errorf("company %d named %q, want %q", id, got, name)
	}
	for _, table := range tables {
		cols := tableColumns(t, dst, id.Schema(), table)
		list := make([]string, len(cols))
		for i, c := range cols {
			list[i] = `"` + c + `"`
		}
		sel := strings.Join(list, ", ")
		want := dumpRows(t, src, "SELECT "+sel+" FROM public.? WHERE company_id = ?", bun.Ident(table), srcID)
		got := dumpRows(t, dst, "SELECT "+sel+" FROM ?.?", bun.Ident(id.Schema()), bun.Ident(table))
		if got != want {
			t.Errorf("source company %d, table %s:\n got %s\nwant %s", srcID, table, got, want)
		}
		n := queryInt(t, src, "SELECT count(*) FROM public.? WHERE company_id = ?", bun.Ident(table), srcID)
		if n == 0 || res.Rows[table] != n {
			t.Errorf("source company %d, table %s: reported %d rows, source has %d", srcID, table, res.Rows[table], n)
		}
	}
	if got, want := lookupEmails(t, dst, id), userEmails(t, dst, id); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("company %d lookup rows %v, want %v", id, got, want)
	}
	assertAt(t, dst, id, referenceSchema(t).Migrations.Latest())
	assertIdentityContinues(t, dst, id.Schema())
}

func TestMonolithImport(t *testing.T) {
	ctx := context.Background()
	ts := referenceSchema(t)
	companies := []monoCompany{{10, "Acme", "acme"}, {20, "Globex", "globex"}, {30, "Initech", "initech"}, {40, "Umbrella", "umbrella"}}
	dsn, src, tables := buildMonolith(t, ts, "public", companies)
	// Initech's admin uses Acme's admin's email: Initech must fail, alone.
	if _, err := src.NewRaw("UPDATE public.users SET email = 'acme-ada@example.com' WHERE company_id = 30 AND id = 1").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	dst := newDB(t, 4)
	imp := postgres.NewMonolithImporter(dst, ts)
	pristine := sourceState(t, src, "public", tables)

	var seen []int64
	rep, err := imp.Run(ctx, postgres.MonolithOptions{SourceURL: dsn, OnCompany: func(r postgres.MonolithCompanyResult) {
		seen = append(seen, r.SourceCompanyID)
	}})
	if err == nil || !strings.Contains(err.Error(), "1 of 4 companies failed") {
		t.Fatalf("first run error = %v, want one failed company", err)
	}
	if !slices.Equal(seen, []int64{10, 20, 30, 40}) {
		t.Errorf("OnCompany saw %v", seen)
	}
	want := map[int64]string{10: postgres.MonolithImported, 20: postgres.MonolithImported, 30: postgres.MonolithFailed, 40: postgres.MonolithImported}
	if got := resultsByStatus(rep); !maps.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if rep.Verified || rep.SourceDropped {
		t.Errorf("report %+v: a run with a failure is not verified", rep)
	}
	failed := rep.Companies[2]
	if !domain.IsCode(failed.Err, domain.CodeConflict) || !strings.Contains(failed.Err.Error(), "acme-ada@example.com") || failed.CompanyID != 0 {
		t.Errorf("Initech's result %+v, want a Conflict naming acme-ada@example.com", failed)
	}
	for i, c := range companies {
		if c.id != 30 {
			assertCompanyImported(t, src, dst, tables, c.id, rep.Companies[i], c.name)
		}
	}
	if n := queryInt(t, dst, "SELECT count(*) FROM public.companies"); n != 3 {
		t.Errorf("%d companies, want 3 (the failed one rolled back entirely)", n)
	}
	if n := queryInt(t, dst, `SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname LIKE 'company\_%'`); n != 3 {
		t.Errorf("%d tenant schemas, want 3", n)
	}
	if n := queryInt(t, dst, "SELECT count(*) FROM public.user_company_lookup WHERE email LIKE 'initech-%'"); n != 0 {
		t.Errorf("%d lookup rows of the failed company", n)
	}
	if msg := queryString(t, dst, "SELECT error FROM public.monolith_imports WHERE source_company_id = 30 AND status = 'failed'"); !strings.Contains(msg, "acme-ada@example.com") {
		t.Errorf("recorded error %q", msg)
	}
	if n := queryInt(t, dst, "SELECT count(*) FROM public.monolith_imports WHERE status = 'imported'"); n != 3 {
		t.Errorf("%d companies recorded as imported, want 3", n)
	}
	if got := sourceState(t, src, "public", tables); !maps.Equal(got, pristine) {
		t.Error("the source changed during an import without DropSource")
	}
	acmeID := rep.Companies[0].CompanyID

	t.Run("rerun skips the imported and retries the failed", func(t *testing.T) {
		rep, err := imp.Run(ctx, postgres.MonolithOptions{SourceURL: dsn})
		if err == nil {
			t.Fatal("rerun with the conflict unchanged succeeded")
		}
		want := map[int64]string{10: postgres.MonolithSkippedDone, 20: postgres.MonolithSkippedDone, 30: postgres.MonolithFailed, 40: postgres.MonolithSkippedDone}
		if got := resultsByStatus(rep); !maps.Equal(got, want) {
			t.Fatalf("statuses %v, want %v", got, want)
		}
		if rep.Companies[0].CompanyID != acmeID || rep.Companies[0].Rows["users"] != 3 {
			t.Errorf("skipped result %+v lacks the recorded company and rows", rep.Companies[0])
		}
		if n := queryInt(t, dst, "SELECT count(*) FROM public.companies"); n != 3 {
			t.Errorf("%d companies after the rerun, want 3", n)
		}
	})

	t.Run("fixed data imports", func(t *testing.T) {
		if _, err := src.NewRaw("UPDATE public.users SET email = 'initech-ada@example.com' WHERE company_id = 30 AND id = 1").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		pristine = sourceState(t, src, "public", tables)
		rep, err := imp.Run(ctx, postgres.MonolithOptions{SourceURL: dsn})
		if err != nil {
			t.Fatalf("run after the fix: %v", err)
		}
		want := map[int64]string{10: postgres.MonolithSkippedDone, 20: postgres.MonolithSkippedDone, 30: postgres.MonolithImported, 40: postgres.MonolithSkippedDone}
		if got := resultsByStatus(rep); !maps.Equal(got, want) {
			t.Fatalf("statuses %v, want %v", got, want)
		}
		if !rep.Verified || rep.SourceDropped {
			t.Errorf("report %+v: want verified, source kept", rep)
		}
		assertCompanyImported(t, src, dst, tables, 30, rep.Companies[2], "Initech")
		if got := sourceState(t, src, "public", tables); !maps.Equal(got, pristine) {
			t.Error("the source changed although DropSource was not set")
		}
	})

	t.Run("DropSource refuses a source that changed", func(t *testing.T) {
		if _, err := src.NewRaw(`INSERT INTO public.tags (id, name, created_at, company_id) VALUES (99, 'late', now(), 20)`).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		pristine = sourceState(t, src, "public", tables)
		rep, err := imp.Run(ctx, postgres.MonolithOptions{SourceURL: dsn, DropSource: true})
		if err == nil || !strings.Contains(err.Error(), "tags: company 20 has 4 rows, 3 were imported") {
			t.Fatalf("DropSource over a changed source = %v, want a refusal naming the change", err)
		}
		if rep.SourceDropped {
			t.Error("report says dropped")
		}
		if got := sourceState(t, src, "public", tables); !maps.Equal(got, pristine) {
			t.Error("a refused DropSource changed the source")
		}
		if _, err := src.NewRaw(`DELETE FROM public.tags WHERE id = 99 AND company_id = 20`).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("DropSource after a verified run drops the source", func(t *testing.T) {
		if _, err := src.NewRaw("CREATE TABLE public.unrelated (id int)").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := imp.Run(ctx, postgres.MonolithOptions{SourceURL: dsn, DropSource: true})
		if err != nil {
			t.Fatalf("DropSource: %v", err)
		}
		if !rep.Verified || !rep.SourceDropped || len(rep.Companies) != 4 {
			t.Errorf("report %+v, want verified and dropped", rep)
		}
		if left := sourceState(t, src, "public", tables); len(left) != 0 {
			t.Errorf("source tables left after DropSource: %v", slices.Collect(maps.Keys(left)))
		}
		if !tableExists(t, src, "public.unrelated") {
			t.Error("DropSource dropped a table it did not import")
		}
		if n := queryInt(t, dst, "SELECT count(*) FROM public.companies"); n != 4 {
			t.Errorf("%d companies, want 4", n)
		}
	})
}

// A source schema other than public is read; a tenant table there without
// company_id, or no companies table at all, is a setup error with nothing
// written.
func TestMonolithImportSetupErrors(t *testing.T) {
	ctx := context.Background()
	ts := referenceSchema(t)
	dsn, src, _ := buildMonolith(t, ts, "legacy", []monoCompany{{1, "Solo", "solo"}})
	dst := newDB(t, 2)
	imp := postgres.NewMonolithImporter(dst, ts)

	if _, err := imp.Run(ctx, postgres.MonolithOptions{SourceURL: dsn}); err == nil || !strings.Contains(err.Error(), "no companies") {
		t.Errorf("public holds no monolith: %v", err)
	}
	if _, err := src.NewRaw("ALTER TABLE legacy.tags DROP COLUMN company_id").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := imp.Run(ctx, postgres.MonolithOptions{SourceURL: dsn, SourceSchema: "legacy"}); err == nil || !strings.Contains(err.Error(), "legacy.tags has no company_id") {
		t.Errorf("a tenant table without company_id: %v", err)
	}
	assertNothingImported(t, dst)
	if n := queryInt(t, dst, "SELECT count(*) FROM public.monolith_imports"); n != 0 {
		t.Errorf("%d progress rows after setup errors", n)
	}

	// Dropping the table from the source leaves it empty in the tenant; the
	// rest imports.
	if _, err := src.NewRaw("DROP TABLE legacy.component_tags; DROP TABLE legacy.tags").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := imp.Run(ctx, postgres.MonolithOptions{SourceURL: dsn, SourceSchema: "legacy"})
	if err != nil || len(rep.Companies) != 1 || rep.Companies[0].Status != postgres.MonolithImported {
		t.Fatalf("import from schema legacy = %+v, %v", rep, err)
	}
	id := rep.Companies[0].CompanyID
	if n := queryInt(t, dst, "SELECT count(*) FROM ?.users", bun.Ident(id.Schema())); n != 3 {
		t.Errorf("%d users imported, want 3", n)
	}
	if n := queryInt(t, dst, "SELECT count(*) FROM ?.tags", bun.Ident(id.Schema())); n != 0 {
		t.Errorf("%d tags in the tenant although the source has none", n)
	}
}
