package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/migrations"
	"github.com/schemata/schemata/tenancy"
)

// referenceSchema is Schemata's own tenant schema: its migrations and seed.
func referenceSchema(t testing.TB) postgres.TenantSchema {
	t.Helper()
	ts, err := postgres.LoadTenantSchema(migrations.Tenant(), postgres.ReferenceSeed)
	if err != nil {
		t.Fatalf("load tenant schema: %v", err)
	}
	return ts
}

func mustSchema(t testing.TB, fsys fstest.MapFS, seed postgres.Seed) postgres.TenantSchema {
	t.Helper()
	ts, err := postgres.LoadTenantSchema(fsys, seed)
	if err != nil {
		t.Fatalf("load tenant schema: %v", err)
	}
	return ts
}

func queryInt(t testing.TB, db *bun.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func schemaExists(t testing.TB, db *bun.DB, id tenancy.CompanyID) bool {
	t.Helper()
	return queryInt(t, db, "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = ?", id.Schema()) == 1
}

// assertNothingLeft checks that no tenant exists in any form: no company row,
// no company_% schema, no ledger row and no email lookup row.
func assertNothingLeft(t testing.TB, db *bun.DB) {
	t.Helper()
	for what, q := range map[string]string{
		"company rows":   "SELECT count(*) FROM public.companies",
		"tenant schemas": `SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname LIKE 'company\_%'`,
		"ledger rows":    "SELECT count(*) FROM public.tenant_fleet",
		"lookup rows":    "SELECT count(*) FROM public.user_company_lookup",
	} {
		if n := queryInt(t, db, q); n != 0 {
			t.Errorf("%d %s left behind", n, what)
		}
	}
}

// claimEmail inserts an email lookup row in the unit of work of ctx.
func claimEmail(ctx context.Context, db *bun.DB, email string, id tenancy.CompanyID) error {
	_, err := postgres.PublicHandle(ctx, db).NewRaw(
		"INSERT INTO public.user_company_lookup (email, company_id) VALUES (?, ?)", email, int64(id)).Exec(ctx)
	return err
}

func TestProvisionCreate(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	ts := referenceSchema(t)
	p := postgres.NewProvisioner(db, ts)

	var sawID tenancy.CompanyID
	c, err := p.Create(ctx, "  Acme  ", func(ctx context.Context, id tenancy.CompanyID) error {
		sawID = id
		h, hid, err := postgres.TenantHandle(ctx, db)
		if err != nil || hid != id {
			return fmt.Errorf("within has no tenant scope for %d: %v (%d)", id, err, hid)
		}
		var schema string
		if err := h.NewRaw("SELECT current_schema()").Scan(ctx, &schema); err != nil {
			return err
		}
		if schema != id.Schema() {
			return fmt.Errorf("current_schema() = %q inside within, want %q", schema, id.Schema())
		}
		return claimEmail(ctx, db, "admin@acme.test", id)
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	id := tenancy.CompanyID(c.ID)
	if c.Name != "Acme" || !id.Valid() || c.CreatedAt.IsZero() || sawID != id {
		t.Fatalf("Create returned %+v (within saw %d)", c, sawID)
	}
	if !schemaExists(t, db, id) {
		t.Fatalf("schema %s missing", id.Schema())
	}
	var recs []struct {
		Version int64
		Name    string
	}
	if err := db.NewRaw(`SELECT version, name FROM ?.schemata_migrations ORDER BY version`, bun.Ident(id.Schema())).Scan(ctx, &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(ts.Migrations) {
		t.Fatalf("schemata_migrations has %d rows, want %d", len(recs), len(ts.Migrations))
	}
	for i, m := range ts.Migrations {
		if recs[i].Version != m.Version || recs[i].Name != m.Name {
			t.Errorf("record %d = %+v, want %d %s", i, recs[i], m.Version, m.Name)
		}
	}
	var ledger struct {
		Version int64
		Status  string
		Error   string
	}
	if err := db.NewRaw("SELECT version, status, error FROM public.tenant_fleet WHERE company_id = ?", c.ID).Scan(ctx, &ledger); err != nil {
		t.Fatalf("ledger row: %v", err)
	}
	if ledger.Version != ts.Migrations.Latest() || ledger.Status != "ok" || ledger.Error != "" {
		t.Errorf("ledger = %+v, want version %d ok", ledger, ts.Migrations.Latest())
	}
	if n := queryInt(t, db, "SELECT count(*) FROM public.user_company_lookup WHERE company_id = ?", c.ID); n != 1 {
		t.Errorf("lookup rows written by within = %d, want 1", n)
	}
}

func TestProvisionCreateRejectsBadName(t *testing.T) {
	db := newDB(t)
	p := postgres.NewProvisioner(db, referenceSchema(t))
	for _, name := range []string{"", "   ", "a\x00b", strings.Repeat("x", domain.MaxNameLen+1)} {
		_, err := p.Create(context.Background(), name, nil)
		if !domain.IsCode(err, domain.CodeInvalid) {
			t.Errorf("Create(%q) = %v, want an invalid error", name, err)
		}
	}
	assertNothingLeft(t, db)
}

func TestReferenceSeed(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	c, err := postgres.NewProvisioner(db, referenceSchema(t)).Create(ctx, "Seeded", nil)
	if err != nil {
		t.Fatal(err)
	}
	schema := bun.Ident(tenancy.CompanyID(c.ID).Schema())
	total := 0
	for _, kind := range []domain.RefKind{domain.CloudProviders, domain.RegistryProviders, domain.ServiceTypes} {
		var rows []struct {
			ID   int64
			Name string
		}
		if err := db.NewRaw("SELECT id, name FROM ?.? ORDER BY id", schema, bun.Ident(string(kind))).Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		want := domain.DefaultReferenceData[kind]
		if len(rows) != len(want) {
			t.Fatalf("%s has %d rows, want %d", kind, len(rows), len(want))
		}
		for i, r := range rows {
			if r.ID != int64(i+1) || r.Name != want[i] {
				t.Errorf("%s row %d = %+v, want id %d name %q", kind, i, r, i+1, want[i])
			}
		}
		total += len(rows)
	}
	if total != 21 {
		t.Errorf("seeded %d reference rows, want 21", total)
	}
}

// TestProvisionFailureLeavesNothing injects a failure at every step of Create
// and proves the transaction leaves nothing behind.
func TestProvisionFailureLeavesNothing(t *testing.T) {
	db := newDB(t)
	injected := errors.New("injected failure")

	threeMigrations := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (id bigint PRIMARY KEY);")},
		"0002_b.sql": {Data: []byte("CREATE TABLE b (id bigint PRIMARY KEY);\nSELECT no_such_function();")},
		"0003_c.sql": {Data: []byte("CREATE TABLE c (id bigint PRIMARY KEY);")},
	}
	seedThenFail := func(ctx context.Context, h postgres.Handle) error {
		if err := postgres.ReferenceSeed(ctx, h); err != nil {
			return err
		}
		return injected
	}

	cases := []struct {
		name      string
		ts        postgres.TenantSchema
		failAfter string // failpoint step, "" for none
		within    func(ctx context.Context, id tenancy.CompanyID) error
		wantErr   string // substring, besides errors.Is(injected) for failpoints
	}{
		{name: "after company row", ts: referenceSchema(t), failAfter: "company_row"},
		{name: "after create schema", ts: referenceSchema(t), failAfter: "create_schema"},
		{name: "after migration", ts: referenceSchema(t), failAfter: "migration:1"},
		{name: "after seed", ts: referenceSchema(t), failAfter: "seed"},
		{name: "second of three migrations fails", ts: mustSchema(t, threeMigrations, nil),
			wantErr: "migration 0002_b: "},
		{name: "seed inserts then fails", ts: referenceSchema(t)},
		{name: "within claims an email then fails", ts: referenceSchema(t),
			within: func(ctx context.Context, id tenancy.CompanyID) error {
				if err := claimEmail(ctx, db, "first@acme.test", id); err != nil {
					return err
				}
				return injected
			}},
	}
	cases[5].ts.Seed = seedThenFail

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := postgres.NewProvisioner(db, tc.ts)
			var steps []string
			postgres.SetFailAfter(p, func(step string) error {
				steps = append(steps, step)
				if step == tc.failAfter {
					return injected
				}
				return nil
			})
			_, err := p.Create(context.Background(), "Doomed", tc.within)
			if err == nil {
				t.Fatal("Create succeeded, want an error")
			}
			if tc.wantErr != "" {
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %q does not contain %q", err, tc.wantErr)
				}
			} else if !errors.Is(err, injected) {
				t.Errorf("error %v is not the injected failure", err)
			}
			if tc.failAfter != "" && steps[len(steps)-1] != tc.failAfter {
				t.Errorf("failpoint %q never reached (steps: %v)", tc.failAfter, steps)
			}
			assertNothingLeft(t, db)
		})
	}

	// Prove the cases above were not vacuous: the same provisioner, without a
	// failure, leaves exactly one of each.
	p := postgres.NewProvisioner(db, referenceSchema(t))
	var steps []string
	postgres.SetFailAfter(p, func(step string) error { steps = append(steps, step); return nil })
	if _, err := p.Create(context.Background(), "Survivor", func(ctx context.Context, id tenancy.CompanyID) error {
		return claimEmail(ctx, db, "first@acme.test", id)
	}); err != nil {
		t.Fatal(err)
	}
	want := "company_row create_schema"
	for _, m := range referenceSchema(t).Migrations {
		want += fmt.Sprintf(" migration:%d", m.Version)
	}
	want += " seed"
	if strings.Join(steps, " ") != want {
		t.Errorf("steps = %v, want %s", steps, want)
	}
	for _, q := range []string{
		"SELECT count(*) FROM public.companies",
		`SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname LIKE 'company\_%'`,
		"SELECT count(*) FROM public.tenant_fleet",
		"SELECT count(*) FROM public.user_company_lookup",
	} {
		if n := queryInt(t, db, q); n != 1 {
			t.Errorf("%s = %d after a successful Create, want 1", q, n)
		}
	}
}

func TestProvisionWithinPanicLeavesNothing(t *testing.T) {
	db := newDB(t)
	p := postgres.NewProvisioner(db, referenceSchema(t))
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic of within", r)
			}
		}()
		_, _ = p.Create(context.Background(), "Panicky", func(ctx context.Context, id tenancy.CompanyID) error {
			panic("boom")
		})
	}()
	assertNothingLeft(t, db)
}

func TestProvisionCancelledContext(t *testing.T) {
	db := newDB(t)
	p := postgres.NewProvisioner(db, referenceSchema(t))

	t.Run("before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := p.Create(ctx, "Never", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Create = %v, want context.Canceled", err)
		}
		assertNothingLeft(t, db)
	})
	t.Run("mid-way", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		postgres.SetFailAfter(p, func(step string) error {
			if step == "create_schema" {
				cancel() // the next statement must not run, and all must roll back
			}
			return nil
		})
		defer postgres.SetFailAfter(p, nil)
		if _, err := p.Create(ctx, "Interrupted", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Create = %v, want context.Canceled", err)
		}
		assertNothingLeft(t, db)
	})
}

func TestProvisionConcurrentCreates(t *testing.T) {
	const n = 8
	db := newDB(t, n)
	p := postgres.NewProvisioner(db, referenceSchema(t))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ids  = map[int64]bool{}
		errs []error
	)
	for i := range n {
		wg.Go(func() {
			c, err := p.Create(context.Background(), fmt.Sprintf("Company %d", i), nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ids[c.ID] = true
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent Create failed: %v", errors.Join(errs...))
	}
	if len(ids) != n {
		t.Fatalf("got %d distinct ids, want %d", len(ids), n)
	}
	for id := range ids {
		cid := tenancy.CompanyID(id)
		if !schemaExists(t, db, cid) {
			t.Errorf("schema %s missing", cid.Schema())
		}
		if got := queryInt(t, db, "SELECT count(*) FROM ?.cloud_providers", bun.Ident(cid.Schema())); got != 6 {
			t.Errorf("%s has %d cloud providers, want 6", cid.Schema(), got)
		}
	}
	if got := queryInt(t, db, "SELECT count(*) FROM public.tenant_fleet WHERE status = 'ok'"); got != n {
		t.Errorf("ledger rows = %d, want %d", got, n)
	}
}

func TestProvisionDelete(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	p := postgres.NewProvisioner(db, referenceSchema(t))
	create := func(name, email string) tenancy.CompanyID {
		t.Helper()
		c, err := p.Create(ctx, name, func(ctx context.Context, id tenancy.CompanyID) error {
			return claimEmail(ctx, db, email, id)
		})
		if err != nil {
			t.Fatal(err)
		}
		return tenancy.CompanyID(c.ID)
	}
	doomed := create("Doomed", "a@doomed.test")
	kept := create("Kept", "a@kept.test")

	t.Run("guard refuses", func(t *testing.T) {
		refuse := domain.Conflict("company still has users")
		var guardSchema string
		err := p.Delete(ctx, doomed, func(ctx context.Context) error {
			h, id, err := postgres.TenantHandle(ctx, db)
			if err != nil || id != doomed {
				return fmt.Errorf("guard has no tenant scope: %v", err)
			}
			if err := h.NewRaw("SELECT current_schema()").Scan(ctx, &guardSchema); err != nil {
				return err
			}
			return refuse
		})
		if !errors.Is(err, refuse) {
			t.Fatalf("Delete = %v, want the guard's error", err)
		}
		if guardSchema != doomed.Schema() {
			t.Errorf("guard ran in schema %q, want %q", guardSchema, doomed.Schema())
		}
		if !schemaExists(t, db, doomed) || queryInt(t, db, "SELECT count(*) FROM public.companies WHERE id = ?", int64(doomed)) != 1 {
			t.Fatal("a refused Delete removed something")
		}
	})

	t.Run("deletes schema, row, lookup and ledger together", func(t *testing.T) {
		if err := p.Delete(ctx, doomed, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if schemaExists(t, db, doomed) {
			t.Error("schema still exists")
		}
		for _, table := range []string{"companies WHERE id", "user_company_lookup WHERE company_id", "tenant_fleet WHERE company_id"} {
			if n := queryInt(t, db, "SELECT count(*) FROM public."+table+" = ?", int64(doomed)); n != 0 {
				t.Errorf("public.%s = %d: %d rows left", table, doomed, n)
			}
		}
		if !schemaExists(t, db, kept) || queryInt(t, db, "SELECT count(*) FROM public.user_company_lookup WHERE company_id = ?", int64(kept)) != 1 {
			t.Error("Delete touched another company")
		}
	})

	t.Run("absent is NotFound", func(t *testing.T) {
		for _, id := range []tenancy.CompanyID{doomed, 0, -1, 1 << 40} {
			guarded := false
			err := p.Delete(ctx, id, func(context.Context) error { guarded = true; return nil })
			if !domain.IsCode(err, domain.CodeNotFound) {
				t.Errorf("Delete(%d) = %v, want NotFound", id, err)
			}
			if guarded {
				t.Errorf("Delete(%d) ran the guard of an absent company", id)
			}
		}
	})

	t.Run("nil guard", func(t *testing.T) {
		if err := p.Delete(ctx, kept, nil); err != nil {
			t.Fatal(err)
		}
		assertNothingLeft(t, db)
	})
}

// TestProvisionRoundTrips pins the message count of Create: BEGIN rides on the
// company row, CREATE SCHEMA and the migration record table share one
// message, each migration shares one with its record, then the ledger row, the
// seed (one message for all 21 rows) and COMMIT.
func TestProvisionRoundTrips(t *testing.T) {
	db, log := newLoggedDB(t, 2)
	ts := referenceSchema(t)
	c, err := postgres.NewProvisioner(db, ts).Create(context.Background(), "Counted", nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := log.Take()
	if want := 5 + len(ts.Migrations); len(msgs) != want {
		t.Fatalf("Create cost %d round trips, want %d: %q", len(msgs), want, msgs)
	}
	schema := tenancy.CompanyID(c.ID).Schema()
	for i, prefix := range []string{
		"BEGIN; INSERT INTO public.companies",
		`SET LOCAL search_path TO "` + schema + `", pg_temp; CREATE SCHEMA "` + schema + `"; CREATE TABLE schemata_migrations`,
		ts.Migrations[0].SQL,
	} {
		if !strings.HasPrefix(msgs[i], prefix) {
			t.Errorf("message %d = %.120q, want prefix %.120q", i, msgs[i], prefix)
		}
	}
	if n := len(msgs); !strings.HasPrefix(msgs[n-2], "INSERT INTO cloud_providers") || !strings.Contains(msgs[n-2], "INSERT INTO service_types") {
		t.Errorf("the seed is not one message: %.200q", msgs[n-2])
	}
}
