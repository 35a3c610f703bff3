package postgres_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// awkwardName exercises COPY's text escaping: tab, newline, backslash,
// quotes, a lone "\." and non-ASCII.
const awkwardName = "Zoë \\ back\ttab\nnew line \"q\" 'a' \\.\r"

// populateTenant fills every table of Schemata's tenant schema (the seed has
// filled the reference tables) through h, whose statements run with
// search_path = the tenant schema. tag makes emails and names distinct per
// tenant. Ids have gaps so that identity sequences must be moved past the
// largest. The catalog tables of migration 0002 are filled when they exist.
func populateTenant(ctx context.Context, h postgres.Handle, tag string) error {
	exec := func(q string, args ...any) error {
		if _, err := h.NewRaw(q, args...).Exec(ctx); err != nil {
			return fmt.Errorf("%.60s…: %w", q, err)
		}
		return nil
	}
	steps := []func() error{
		func() error {
			return exec(`INSERT INTO users (id, name, email, password_hash, role, created_at, updated_at) VALUES
				(1, 'Ada Admin', ?, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', 'admin', '2024-01-02 03:04:05.123456+00', '2024-01-03 00:00:00+00'),
				(2, ?, ?, 'x', 'user', now(), now()),
				(7, 'Vic Viewer', ?, 'x', 'viewer', now(), now())`,
				tag+"-ada@example.com", awkwardName+tag, tag+"-zoe@example.com", tag+"-vic@example.com")
		},
		func() error {
			return exec(`INSERT INTO invitations (id, email, role, token_hash, expires_at, used_at, created_by) VALUES
				(3, ?, 'user', '\x00ff5c0a09'::bytea, '2030-01-01 00:00:00+00', NULL, 1),
				(9, ?, 'viewer', decode(md5(?), 'hex'), '2020-01-01 00:00:00+00', '2019-12-31 23:59:59.5+00', 7)`,
				tag+"-new@example.com", tag+"-old@example.com", tag)
		},
		func() error {
			return exec(`INSERT INTO cloud_providers (id, name, description) VALUES (40, ?, ?)`, "On-prem "+tag, awkwardName)
		},
		func() error {
			return exec(`INSERT INTO registry_providers (id, name) VALUES (41, ?)`, "Harbor "+tag)
		},
		func() error {
			return exec(`INSERT INTO service_types (id, name, description) VALUES (42, ?, '')`, "Batch "+tag)
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	var hasCatalog bool
	if err := h.NewRaw("SELECT to_regclass('teams') IS NOT NULL").Scan(ctx, &hasCatalog); err != nil {
		return err
	}
	if !hasCatalog {
		return nil
	}
	catalog := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO teams (id, name, description) VALUES (1, 'Platform', ''), (4, ?, ?)`, []any{"Payments " + tag, awkwardName}},
		{`INSERT INTO team_members (team_id, user_id) VALUES (1, 1), (4, 2), (4, 7)`, nil},
		{`INSERT INTO components (id, name, description, service_type_id, team_id, lifecycle, tier, repository_url, registry_provider_id, image_repository) VALUES
			(1, 'api-gateway', 'the front door', 1, 1, 'production', 1, 'https://github.com/acme/api', 41, 'ghcr.io/acme/api'),
			(2, 'billing', '', 42, 4, 'experimental', NULL, '', NULL, ''),
			(5, 'ledger.db', ?, 1, 4, 'deprecated', 4, '', 1, '')`, []any{awkwardName}},
		{`INSERT INTO tags (id, name) VALUES (1, 'go'), (3, 'tier:1'), (4, 'c++')`, nil},
		{`INSERT INTO component_tags (component_id, tag_id) VALUES (1, 1), (1, 3), (2, 4)`, nil},
		{`INSERT INTO component_dependencies (component_id, depends_on_id) VALUES (1, 2), (2, 5)`, nil},
		{`INSERT INTO environments (id, name, category, cloud_provider_id, region) VALUES
			(1, 'prod', 'production', 1, 'eu-west-1'), (3, 'staging', 'staging', 40, '')`, nil},
		{`INSERT INTO versions (id, component_id, version, precedence, image_digest, git_sha, notes) VALUES
			(1, 1, '1.0.0', decode(repeat('01', 25), 'hex'), 'sha256:' || repeat('ab', 32), 'abcdef1', ''),
			(2, 1, '1.1.0-rc.1', decode(repeat('02', 25), 'hex'), '', '', ?),
			(6, 2, '0.1.0', decode(repeat('01', 25), 'hex'), '', '0123456789abcdef', '')`, []any{awkwardName}},
		{`INSERT INTO deployments (id, component_id, environment_id, version_id, status, deployed_at, actor) VALUES
			(1, 1, 1, 1, 'succeeded', '2024-02-01 10:00:00+00', 'user:1'),
			(2, 1, 1, 2, 'failed', '2024-02-02 10:00:00+00', 'user:2'),
			(8, 2, 3, 6, 'in_progress', '2024-02-03 10:00:00.000001+00', '')`, nil},
		{`INSERT INTO deployment_current (component_id, environment_id, version_id, deployment_id, deployed_at) VALUES
			(1, 1, 1, 1, '2024-02-01 10:00:00+00')`, nil},
		{`INSERT INTO activity (id, actor_id, actor, action, entity_type, entity_id, detail) VALUES
			(1, 1, 'user:1', 'create', 'component', 1, '{"name": "api-gateway", "n": [1, 2.5, null]}'),
			(5, 2, ?, 'deploy', 'deployment', 8, '{}')`, []any{awkwardName}},
	}
	for _, c := range catalog {
		if err := exec(c.q, c.args...); err != nil {
			return err
		}
	}
	return nil
}

// populate fills tenant id of db with populateTenant.
func populate(t testing.TB, db *bun.DB, id tenancy.CompanyID, tag string) {
	t.Helper()
	err := postgres.NewUnitOfWork(db).WithinTenant(context.Background(), id, func(ctx context.Context) error {
		h, _, err := postgres.TenantHandle(ctx, db)
		if err != nil {
			return err
		}
		return populateTenant(ctx, h, tag)
	})
	if err != nil {
		t.Fatalf("populate %s: %v", id.Schema(), err)
	}
}

// tenantTables lists the tables of schema except the machinery's, by name.
func tenantTables(t testing.TB, db *bun.DB, schema string) []string {
	t.Helper()
	var names []string
	if err := db.NewRaw(`SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ? AND c.relkind IN ('r', 'p') AND c.relname <> 'schemata_migrations' ORDER BY 1`, schema).
		Scan(context.Background(), &names); err != nil {
		t.Fatal(err)
	}
	return names
}

// tableColumns lists the columns of schema.table in order.
func tableColumns(t testing.TB, db *bun.DB, schema, table string) []string {
	t.Helper()
	var cols []string
	if err := db.NewRaw(`SELECT attname FROM pg_catalog.pg_attribute
		WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
		schema+"."+table).Scan(context.Background(), &cols); err != nil {
		t.Fatal(err)
	}
	return cols
}

// dumpRows returns the rows of a query as one canonical JSON array text:
// each row as JSON, ordered by its text.
func dumpRows(t testing.TB, db *bun.DB, query string, args ...any) string {
	t.Helper()
	var out string
	if err := db.NewRaw("SELECT coalesce(json_agg(r ORDER BY r::text), '[]')::text FROM (SELECT row_to_json(x) AS r FROM ("+query+") x) q", args...).
		Scan(context.Background(), &out); err != nil {
		t.Fatalf("dump %s: %v", query, err)
	}
	return out
}

func dumpTable(t testing.TB, db *bun.DB, schema, table string) string {
	t.Helper()
	return dumpRows(t, db, "SELECT * FROM ?.?", bun.Ident(schema), bun.Ident(table))
}

// assertIdentityContinues checks that every identity column of schema's
// tables generates max+1 next (it consumes one value per column).
func assertIdentityContinues(t testing.TB, db *bun.DB, schema string) {
	t.Helper()
	type idCol struct {
		Table, Column string
	}
	var cols []idCol
	if err := db.NewRaw(`SELECT c.relname AS table, a.attname AS column FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ? AND a.attidentity <> '' ORDER BY 1`, schema).Scan(context.Background(), &cols); err != nil {
		t.Fatal(err)
	}
	if len(cols) == 0 {
		t.Fatalf("%s has no identity column", schema)
	}
	for _, c := range cols {
		maxID := queryInt(t, db, "SELECT coalesce(max(?), 0) FROM ?.?", bun.Ident(c.Column), bun.Ident(schema), bun.Ident(c.Table))
		next := queryInt(t, db, "SELECT nextval(pg_get_serial_sequence(?, ?))", schema+"."+c.Table, c.Column)
		if maxID > 0 && next != maxID+1 {
			t.Errorf("%s.%s: next id %d, want %d (after the largest imported id)", c.Table, c.Column, next, maxID+1)
		}
	}
}

func lookupEmails(t testing.TB, db *bun.DB, id tenancy.CompanyID) []string {
	t.Helper()
	var emails []string
	if err := db.NewRaw("SELECT email FROM public.user_company_lookup WHERE company_id = ? ORDER BY 1", int64(id)).
		Scan(context.Background(), &emails); err != nil {
		t.Fatal(err)
	}
	return emails
}

func userEmails(t testing.TB, db *bun.DB, id tenancy.CompanyID) []string {
	t.Helper()
	var emails []string
	if err := db.NewRaw("SELECT lower(email) FROM ?.users ORDER BY 1", bun.Ident(id.Schema())).
		Scan(context.Background(), &emails); err != nil {
		t.Fatal(err)
	}
	return emails
}

// exportBytes exports id to memory.
func exportBytes(t testing.TB, tr *postgres.Transfer, id tenancy.CompanyID) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := tr.Export(context.Background(), id, &buf); err != nil {
		t.Fatalf("export %d: %v", id, err)
	}
	return buf.Bytes()
}

func gunzip(t testing.TB, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// assertNothingImported checks that a failed import left no trace in db,
// which held nothing before.
func assertNothingImported(t testing.TB, db *bun.DB) {
	t.Helper()
	assertNothingLeft(t, db)
	if n := queryInt(t, db, "SELECT count(*) FROM public.audit_log"); n != 0 {
		t.Errorf("%d audit events left behind", n)
	}
}

// The round trip: a populated tenant of Schemata's own schema is exported
// (streamed through a pipe, never buffered whole) and imported into a fresh
// database; every row of every table is equal, identity sequences continue
// after the largest id, the email lookup rows, the ledger and the migration
// records exist. Importing it again conflicts on the emails and writes
// nothing.
func TestTransferRoundTrip(t *testing.T) {
	ctx := context.Background()
	ts := referenceSchema(t)
	src := newDB(t, 4)
	ids := provisionN(t, src, ts, 2)
	id, other := ids[0], ids[1]
	populate(t, src, id, "acme")
	populate(t, src, other, "other")
	tables := tenantTables(t, src, id.Schema())
	for _, table := range tables {
		if n := queryInt(t, src, "SELECT count(*) FROM ?.?", bun.Ident(id.Schema()), bun.Ident(table)); n == 0 {
			t.Fatalf("the fixture leaves table %s empty: extend populateTenant", table)
		}
	}

	dst := newDB(t, 4)
	pr, pw := io.Pipe()
	type exported struct {
		sum postgres.TransferSummary
		err error
	}
	done := make(chan exported, 1)
	go func() {
		sum, err := postgres.NewTransfer(src, ts).Export(ctx, id, pw)
		_ = pw.CloseWithError(err)
		done <- exported{sum, err}
	}()
	imp, err := postgres.NewTransfer(dst, ts).Import(ctx, pr, "")
	_ = pr.Close()
	exp := <-done
	if exp.err != nil {
		t.Fatalf("export: %v", exp.err)
	}
	if err != nil {
		t.Fatalf("import: %v", err)
	}

	latest := ts.Migrations.Latest()
	if exp.sum.CompanyID != id || exp.sum.Name != "Tenant 0" || exp.sum.Version != latest || len(exp.sum.Tables) != len(tables) {
		t.Errorf("export summary %+v", exp.sum)
	}
	if imp.Name != "Tenant 0" || imp.Version != latest || !imp.CompanyID.Valid() {
		t.Errorf("import summary %+v", imp)
	}
	for table, n := range exp.sum.Tables {
		if imp.Tables[table] != n || n == 0 {
			t.Errorf("table %s: exported %d rows, imported %d", table, n, imp.Tables[table])
		}
	}
	newID := imp.CompanyID
	if got := tenantTables(t, dst, newID.Schema()); !slices.Equal(got, tables) {
		t.Fatalf("imported tables %v, want %v", got, tables)
	}
	for _, table := range tables {
		want, got := dumpTable(t, src, id.Schema(), table), dumpTable(t, dst, newID.Schema(), table)
		if got != want {
			t.Errorf("table %s differs after the round trip:\n got %s\nwant %s", table, got, want)
		}
	}
	if name := queryString(t, dst, "SELECT name FROM public.companies WHERE id = ?", int64(newID)); name != "Tenant 0" {
		t.Errorf("company name %q", name)
	}
	assertAt(t, dst, newID, latest)
	if got, want := lookupEmails(t, dst, newID), userEmails(t, dst, newID); len(want) != 3 || !slices.Equal(got, want) {
		t.Errorf("lookup rows %v, want %v", got, want)
	}
	if n := queryInt(t, dst, "SELECT count(*) FROM public.audit_log WHERE action = 'company.imported' AND company_id = ?", int64(newID)); n != 1 {
		t.Errorf("%d import audit events, want 1", n)
	}
	assertIdentityContinues(t, dst, newID.Schema())

	t.Run("duplicate emails write nothing", func(t *testing.T) {
		data := exportBytes(t, postgres.NewTransfer(src, ts), id)
		counts := func() [5]int64 {
			return [5]int64{
				queryInt(t, dst, "SELECT count(*) FROM public.companies"),
				queryInt(t, dst, `SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname LIKE 'company\_%'`),
				queryInt(t, dst, "SELECT count(*) FROM public.user_company_lookup"),
				queryInt(t, dst, "SELECT count(*) FROM public.tenant_fleet"),
				queryInt(t, dst, "SELECT count(*) FROM public.audit_log"),
			}
		}
		before := counts()
		_, err := postgres.NewTransfer(dst, ts).Import(ctx, bytes.NewReader(data), "Acme again")
		if !domain.IsCode(err, domain.CodeConflict) {
			t.Fatalf("second import = %v, want a Conflict", err)
		}
		for _, e := range []string{"acme-ada@example.com", "acme-vic@example.com", "acme-zoe@example.com"} {
			if !strings.Contains(err.Error(), e) {
				t.Errorf("the conflict %q does not name %s", err, e)
			}
		}
		if after := counts(); after != before {
			t.Errorf("a refused import changed (companies, schemas, lookup, ledger, audit) from %v to %v", before, after)
		}
	})
}

func queryString(t testing.TB, db *bun.DB, query string, args ...any) string {
	t.Helper()
	var s string
	if err := db.NewRaw(query, args...).Scan(context.Background(), &s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s
}

// Damaged files fail cleanly: a clear error and nothing written.
func TestImportDamagedFile(t *testing.T) {
	ctx := context.Background()
	ts := referenceSchema(t)
	src := newDB(t, 2)
	id := provisionN(t, src, ts, 1)[0]
	populate(t, src, id, "acme")
	data := exportBytes(t, postgres.NewTransfer(src, ts), id)
	plain := gunzip(t, data)
	lines := bytes.SplitAfter(plain, []byte("\n"))

	// dropLine removes the line after the first line that starts with prefix.
	dropLineAfter := func(prefix string) []byte {
		var out []byte
		for i := 0; i < len(lines); i++ {
			out = append(out, lines[i]...)
			if bytes.HasPrefix(lines[i], []byte(prefix)) {
				i++
			}
		}
		return out
	}
	replaceLineAfter := func(prefix, with string) []byte {
		var out []byte
		for i := 0; i < len(lines); i++ {
			out = append(out, lines[i]...)
			if bytes.HasPrefix(lines[i], []byte(prefix)) {
				out = append(out, with...)
				i++
			}
		}
		return out
	}
	flipped := slices.Clone(data)
	flipped[len(flipped)/2] ^= 0xff
	cases := map[string][]byte{
		"empty":                    nil,
		"not gzip":                 []byte("id\tname\n1\tx\n"),
		"truncated in half":        data[:len(data)/2],
		"truncated by one byte":    data[:len(data)-1],
		"corrupted":                flipped,
		"trailer cut":              gzipBytes(t, bytes.Join(lines[:len(lines)-2], nil)),
		"cut inside a section":     gzipBytes(t, plain[:bytes.Index(plain, []byte(`{"table":"users"}`))+40]),
		"a row removed":            gzipBytes(t, dropLineAfter(`{"table":"users"}`)),
		"a row garbled":            gzipBytes(t, replaceLineAfter(`{"table":"users"}`, "1\tonly two columns\n")),
		"data after the trailer":   gzipBytes(t, append(slices.Clone(plain), "1\textra\n"...)),
		"header only":              gzipBytes(t, lines[0]),
		"not an export":            gzipBytes(t, []byte(`{"format":"something-else","format_version":1}`+"\n")),
		"unknown format version":   gzipBytes(t, bytes.Replace(plain, []byte(`"format_version":1`), []byte(`"format_version":99`), 1)),
		"sections out of sequence": gzipBytes(t, bytes.Replace(plain, []byte(`{"table":"users"}`), []byte(`{"table":"userz"}`), 1)),
	}
	dst := newDB(t, 2)
	for name, file := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := postgres.NewTransfer(dst, ts).Import(ctx, bytes.NewReader(file), "")
			if err == nil {
				t.Fatal("a damaged file was imported")
			}
			if !domain.IsCode(err, domain.CodeInvalid) && !strings.Contains(err.Error(), "load table") {
				t.Errorf("error %v: want an Invalid file error (or a load error)", err)
			}
			assertNothingImported(t, dst)
		})
	}
	// The intact file imports (so the cases above fail for their damage).
	if _, err := postgres.NewTransfer(dst, ts).Import(ctx, bytes.NewReader(data), ""); err != nil {
		t.Fatalf("the intact file: %v", err)
	}
}

var (
	xferItemsV1 = fstest.MapFS{
		"0001_items.sql": {Data: []byte(`CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE item_links (id bigserial PRIMARY KEY, item_id bigint NOT NULL REFERENCES items (id), parent_id bigint REFERENCES item_links (id));`)},
	}
	xferItemsV2 = withMigrations(xferItemsV1, map[string]string{
		"0002_note.sql": "ALTER TABLE items ADD COLUMN note text NOT NULL DEFAULT 'none';",
	})
	xferItemsV3 = withMigrations(xferItemsV2, map[string]string{
		"0003_flag.sql": "ALTER TABLE items ADD COLUMN flag boolean NOT NULL DEFAULT true;",
	})
)

// An export of an older version is provisioned at that version, loaded, and
// migrated to the latest; an export of a version newer than the program's is
// refused with nothing written.
func TestImportVersions(t *testing.T) {
	ctx := context.Background()
	src := newDB(t, 2)
	v1 := mustSchema(t, xferItemsV1, nil)
	id := provisionN(t, src, v1, 1)[0]
	err := postgres.NewUnitOfWork(src).WithinTenant(ctx, id, func(ctx context.Context) error {
		h, _, err := postgres.TenantHandle(ctx, src)
		if err != nil {
			return err
		}
		// Self-referencing rows inserted child first: the load order cannot
		// help, only the statement-level check does.
		_, err = h.NewRaw(`INSERT INTO items (id, name) OVERRIDING SYSTEM VALUE VALUES (1, 'one'), (2, 'two'), (10, 'ten');
			INSERT INTO item_links (id, item_id, parent_id) VALUES (5, 1, NULL), (6, 2, 5);
			UPDATE item_links SET parent_id = 6 WHERE id = 5`).Exec(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	data := exportBytes(t, postgres.NewTransfer(src, v1), id)

	t.Run("older file migrates forward", func(t *testing.T) {
		dst := newDB(t, 2)
		v3 := mustSchema(t, xferItemsV3, nil)
		sum, err := postgres.NewTransfer(dst, v3).Import(ctx, bytes.NewReader(data), "  Renamed  ")
		if err != nil {
			t.Fatal(err)
		}
		if sum.Version != 1 || sum.Name != "Renamed" || sum.Tables["items"] != 3 || sum.Tables["item_links"] != 2 {
			t.Errorf("summary %+v", sum)
		}
		assertAt(t, dst, sum.CompanyID, 3)
		got := dumpRows(t, dst, "SELECT id, name, note, flag FROM ?.items", bun.Ident(sum.CompanyID.Schema()))
		want := `[{"id":1,"name":"one","note":"none","flag":true}, {"id":10,"name":"ten","note":"none","flag":true}, {"id":2,"name":"two","note":"none","flag":true}]`
		if got != want {
			t.Errorf("items = %s, want %s", got, want)
		}
		if got, want := dumpTable(t, dst, sum.CompanyID.Schema(), "item_links"), dumpTable(t, src, id.Schema(), "item_links"); got != want {
			t.Errorf("item_links = %s, want %s", got, want)
		}
		if next := queryInt(t, dst, "SELECT nextval(pg_get_serial_sequence(?, 'id'))", sum.CompanyID.Schema()+".items"); next != 11 {
			t.Errorf("items identity continues at %d, want 11", next)
		}
		if next := queryInt(t, dst, "SELECT nextval(pg_get_serial_sequence(?, 'id'))", sum.CompanyID.Schema()+".item_links"); next != 7 {
			t.Errorf("item_links serial continues at %d, want 7", next)
		}
		if n := queryInt(t, dst, "SELECT count(*) FROM public.user_company_lookup"); n != 0 {
			t.Errorf("%d lookup rows for a schema without users", n)
		}
	})

	t.Run("newer file is refused", func(t *testing.T) {
		v2 := mustSchema(t, xferItemsV2, nil)
		newer := provisionN(t, src, v2, 1)[0]
		newerData := exportBytes(t, postgres.NewTransfer(src, v2), newer)
		dst := newDB(t, 2)
		_, err := postgres.NewTransfer(dst, v1).Import(ctx, bytes.NewReader(newerData), "")
		if !domain.IsCode(err, domain.CodeInvalid) || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("import of a version-2 file by a version-1 program = %v, want an Invalid error saying newer", err)
		}
		assertNothingImported(t, dst)
	})

	t.Run("file of another schema is refused", func(t *testing.T) {
		dst := newDB(t, 2)
		_, err := postgres.NewTransfer(dst, referenceSchema(t)).Import(ctx, bytes.NewReader(data), "")
		if !domain.IsCode(err, domain.CodeInvalid) || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("import into a different tenant schema = %v, want an Invalid mismatch", err)
		}
		assertNothingImported(t, dst)
	})
}

func TestExportUnknownCompany(t *testing.T) {
	db := newDB(t, 2)
	tr := postgres.NewTransfer(db, referenceSchema(t))
	for _, id := range []tenancy.CompanyID{0, 12345} {
		if _, err := tr.Export(context.Background(), id, io.Discard); !domain.IsCode(err, domain.CodeNotFound) {
			t.Errorf("export of company %d = %v, want NotFound", id, err)
		}
	}
}

// An export waits for a tenant migration in progress (which holds the
// tenant's lock), so it never sees the tenant half-migrated, and then
// completes.
func TestExportWaitsForTenantMigration(t *testing.T) {
	const thisDB = "(SELECT oid FROM pg_database WHERE datname = current_database())"
	ctx := context.Background()
	db := newDB(t, 4)
	ts := mustSchema(t, xferItemsV1, nil)
	id := provisionN(t, db, ts, 1)[0]

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", postgres.TenantLockKey(id)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := postgres.NewTransfer(db, ts).Export(ctx, id, io.Discard)
		done <- err
	}()
	// Wait (bounded) until the export is queued behind the lock.
	deadline := time.Now().Add(30 * time.Second)
	for queryInt(t, db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = "+thisDB) == 0 {
		select {
		case err := <-done:
			t.Fatalf("export finished (%v) while the tenant lock was held", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the export never waited for the tenant lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("export after the lock was released: %v", err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "+thisDB); n != 0 {
		t.Errorf("%d advisory locks left after the export", n)
	}
}
