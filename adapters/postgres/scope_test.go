package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/tenancy"
)

// newTenants provisions n reference tenants in db.
func newTenants(t testing.TB, db *bun.DB, n int) []tenancy.CompanyID {
	t.Helper()
	p := postgres.NewProvisioner(db, referenceSchema(t))
	ids := make([]tenancy.CompanyID, n)
	for i := range ids {
		c, err := p.Create(context.Background(), "Tenant", nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = tenancy.CompanyID(c.ID)
	}
	return ids
}

func sqlstate(err error) string {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C')
	}
	return ""
}

// insertCloud inserts a cloud provider through the tenant scope of ctx.
func insertCloud(ctx context.Context, db *bun.DB, name string) error {
	h, _, err := postgres.TenantHandle(ctx, db)
	if err != nil {
		return err
	}
	_, err = h.NewRaw("INSERT INTO cloud_providers (name) VALUES (?)", name).Exec(ctx)
	return err
}

// countCloud counts cloud providers named name in tenant id, outside any scope.
func countCloud(t testing.TB, db *bun.DB, id tenancy.CompanyID, name string) int64 {
	t.Helper()
	return queryInt(t, db, "SELECT count(*) FROM ?.cloud_providers WHERE name = ?", bun.Ident(id.Schema()), name)
}

func TestScopeFailsClosed(t *testing.T) {
	db := newDB(t)
	newTenants(t, db, 1)
	ctx := context.Background()

	var n int
	err := db.NewRaw("SELECT count(*) FROM cloud_providers").Scan(ctx, &n)
	if sqlstate(err) != "42P01" { // undefined_table
		t.Errorf("unqualified tenant query on the bare pool = %v, want relation does not exist", err)
	}
	err = db.NewSelect().Table("users").ColumnExpr("count(*)").Scan(ctx, &n)
	if sqlstate(err) != "42P01" {
		t.Errorf("bun query on the bare pool = %v, want relation does not exist", err)
	}
	if _, _, err := postgres.TenantHandle(ctx, db); !errors.Is(err, postgres.ErrNoTenantScope) {
		t.Errorf("TenantHandle without scope = %v, want ErrNoTenantScope", err)
	}
	if err := insertCloud(ctx, db, "Nowhere"); !errors.Is(err, postgres.ErrNoTenantScope) {
		t.Errorf("tenant write without scope = %v, want ErrNoTenantScope", err)
	}
	uow := postgres.NewUnitOfWork(db)
	for _, id := range []tenancy.CompanyID{0, -3} {
		if err := uow.WithinTenant(ctx, id, func(context.Context) error { return nil }); err == nil {
			t.Errorf("WithinTenant(%d) succeeded", id)
		}
		if err := uow.ReadTenant(ctx, id, func(context.Context) error { return nil }); err == nil {
			t.Errorf("ReadTenant(%d) succeeded", id)
		}
	}
}

func TestScopeWithinTenantCommitsAndRollsBack(t *testing.T) {
	db := newDB(t)
	id := newTenants(t, db, 1)[0]
	uow := postgres.NewUnitOfWork(db)
	ctx := context.Background()

	if err := uow.WithinTenant(ctx, id, func(ctx context.Context) error {
		return insertCloud(ctx, db, "Committed")
	}); err != nil {
		t.Fatal(err)
	}
	if countCloud(t, db, id, "Committed") != 1 {
		t.Error("nil from fn did not commit")
	}

	fail := errors.New("fn failed")
	err := uow.WithinTenant(ctx, id, func(ctx context.Context) error {
		if err := insertCloud(ctx, db, "RolledBack"); err != nil {
			return err
		}
		return fail
	})
	if !errors.Is(err, fail) {
		t.Errorf("WithinTenant = %v, want fn's error", err)
	}
	if countCloud(t, db, id, "RolledBack") != 0 {
		t.Error("an error from fn did not roll back")
	}

	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want fn's panic re-raised", r)
			}
		}()
		_ = uow.WithinTenant(ctx, id, func(ctx context.Context) error {
			if err := insertCloud(ctx, db, "Panicked"); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if countCloud(t, db, id, "Panicked") != 0 {
		t.Error("a panic in fn did not roll back")
	}
}

// A statement error that fn ignores must not turn into a silent success: the
// transaction is aborted, so the commit must fail and nothing is kept.
func TestScopeSwallowedErrorFailsCommit(t *testing.T) {
	db := newDB(t)
	id := newTenants(t, db, 1)[0]
	err := postgres.NewUnitOfWork(db).WithinTenant(context.Background(), id, func(ctx context.Context) error {
		if err := insertCloud(ctx, db, "Kept?"); err != nil {
			return err
		}
		if err := insertCloud(ctx, db, "AWS"); sqlstate(err) != "23505" { // seeded already
			t.Errorf("duplicate insert = %v, want a unique violation", err)
		}
		return nil // swallowed
	})
	if err == nil {
		t.Fatal("WithinTenant reported success for an aborted transaction")
	}
	if countCloud(t, db, id, "Kept?") != 0 {
		t.Error("work before the swallowed error was committed")
	}
}

func TestScopeCancelledContextDoesNotCommit(t *testing.T) {
	db := newDB(t)
	id := newTenants(t, db, 1)[0]
	ctx, cancel := context.WithCancel(context.Background())
	err := postgres.NewUnitOfWork(db).WithinTenant(ctx, id, func(ctx context.Context) error {
		if err := insertCloud(ctx, db, "Cancelled"); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("WithinTenant = %v, want context.Canceled", err)
	}
	if countCloud(t, db, id, "Cancelled") != 0 {
		t.Error("a unit of work whose context was cancelled committed")
	}
}

func TestScopeReadTenantIsReadOnly(t *testing.T) {
	db := newDB(t)
	id := newTenants(t, db, 1)[0]
	uow := postgres.NewUnitOfWork(db)
	ctx := context.Background()
	var n int
	err := uow.ReadTenant(ctx, id, func(ctx context.Context) error {
		h, _, err := postgres.TenantHandle(ctx, db)
		if err != nil {
			return err
		}
		if err := h.NewRaw("SELECT count(*) FROM cloud_providers").Scan(ctx, &n); err != nil {
			return err
		}
		if err := insertCloud(ctx, db, "Sneaky"); sqlstate(err) != "25006" { // read_only_sql_transaction
			t.Errorf("write in ReadTenant = %v, want a read-only transaction error", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("read %d cloud providers, want 6", n)
	}
	if countCloud(t, db, id, "Sneaky") != 0 {
		t.Error("ReadTenant wrote a row")
	}
}

func TestScopeCurrentSchema(t *testing.T) {
	db := newDB(t)
	ids := newTenants(t, db, 2)
	uow := postgres.NewUnitOfWork(db)
	ctx := context.Background()
	currentSchema := func(ctx context.Context) string {
		h, _, err := postgres.TenantHandle(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := h.NewRaw("SELECT current_schema()").Scan(ctx, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, id := range ids {
		var within, read string
		if err := uow.WithinTenant(ctx, id, func(ctx context.Context) error {
			within = currentSchema(ctx)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := uow.ReadTenant(ctx, id, func(ctx context.Context) error {
			read = currentSchema(ctx)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if within != id.Schema() || read != id.Schema() {
			t.Errorf("current_schema() = %q (write), %q (read), want %q", within, read, id.Schema())
		}
	}
}

// With a pool of one connection, every unit of work uses the same backend;
// afterwards it must be back to the connection's own state: search_path
// pg_catalog, read-write, no transaction open.
func TestScopeLeavesNoSessionState(t *testing.T) {
	db := newDB(t, 1)
	id := newTenants(t, db, 1)[0]
	uow := postgres.NewUnitOfWork(db)
	ctx := context.Background()
	var pid int64
	if err := db.NewRaw("SELECT pg_backend_pid()").Scan(ctx, &pid); err != nil {
		t.Fatal(err)
	}
	check := func(after string) {
		t.Helper()
		var st struct {
			Pid        int64
			SearchPath string
			ReadOnly   string
			Fresh      bool
		}
		if err := db.NewRaw(`SELECT pg_backend_pid() AS pid, current_setting('search_path') AS search_path,
			current_setting('transaction_read_only') AS read_only,
			transaction_timestamp() = statement_timestamp() AS fresh`).Scan(ctx, &st); err != nil {
			t.Fatalf("after %s: %v", after, err)
		}
		if st.Pid != pid {
			t.Fatalf("after %s: backend changed (%d → %d); the check proves nothing", after, pid, st.Pid)
		}
		if st.SearchPath != postgres.NoTenantSearchPath || st.ReadOnly != "off" || !st.Fresh {
			t.Errorf("after %s: session state %+v, want search_path %s, read-write, no open transaction", after, st, postgres.NoTenantSearchPath)
		}
	}
	check("start")
	_ = uow.WithinTenant(ctx, id, func(ctx context.Context) error { return insertCloud(ctx, db, "A") })
	check("a committed unit of work")
	_ = uow.WithinTenant(ctx, id, func(ctx context.Context) error {
		_ = insertCloud(ctx, db, "B")
		return errors.New("roll back")
	})
	check("a rolled back unit of work")
	_ = uow.ReadTenant(ctx, id, func(ctx context.Context) error {
		var n int
		h, _, _ := postgres.TenantHandle(ctx, db)
		return h.NewRaw("SELECT count(*) FROM cloud_providers").Scan(ctx, &n)
	})
	check("a read")
	func() {
		defer func() { _ = recover() }()
		_ = uow.WithinTenant(ctx, id, func(ctx context.Context) error {
			_ = insertCloud(ctx, db, "C")
			panic("boom")
		})
	}()
	check("a panic")
}

func TestScopeNesting(t *testing.T) {
	db := newDB(t)
	ids := newTenants(t, db, 2)
	a, b := ids[0], ids[1]
	uow := postgres.NewUnitOfWork(db)
	ctx := context.Background()

	outerFail := errors.New("outer fails")
	err := uow.WithinTenant(ctx, a, func(ctx context.Context) error {
		if err := uow.WithinTenant(ctx, a, func(ctx context.Context) error {
			return insertCloud(ctx, db, "Inner")
		}); err != nil {
			return err
		}
		var seen int
		if err := uow.ReadTenant(ctx, a, func(ctx context.Context) error {
			h, _, _ := postgres.TenantHandle(ctx, db)
			return h.NewRaw("SELECT count(*) FROM cloud_providers WHERE name = 'Inner'").Scan(ctx, &seen)
		}); err != nil {
			return err
		}
		if seen != 1 {
			t.Error("a nested ReadTenant did not see the outer transaction's uncommitted row")
		}
		return outerFail
	})
	if !errors.Is(err, outerFail) {
		t.Fatalf("WithinTenant = %v", err)
	}
	if countCloud(t, db, a, "Inner") != 0 {
		t.Error("the nested unit of work committed on its own instead of joining the outer one")
	}

	err = uow.WithinTenant(ctx, a, func(ctx context.Context) error {
		return uow.WithinTenant(ctx, b, func(ctx context.Context) error { return insertCloud(ctx, db, "Cross") })
	})
	if err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("nested WithinTenant for another tenant = %v, want an error", err)
	}
	err = uow.ReadTenant(ctx, a, func(ctx context.Context) error {
		return uow.ReadTenant(ctx, b, func(context.Context) error { return nil })
	})
	if err == nil {
		t.Error("nested ReadTenant for another tenant succeeded")
	}
	if countCloud(t, db, b, "Cross") != 0 {
		t.Error("a cross-tenant nested unit of work wrote")
	}
}

// TestScopeRoundTrips counts the messages the driver sends: a unit of work of
// N statements costs N+1 round trips (BEGIN rides on the first statement,
// COMMIT is the +1); a read costs one per statement; an empty unit of work
// costs nothing.
func TestScopeRoundTrips(t *testing.T) {
	db, log := newLoggedDB(t, 4)
	id := newTenants(t, db, 1)[0]
	log.Take()
	uow := postgres.NewUnitOfWork(db)
	ctx := context.Background()
	prefix := `BEGIN; SET LOCAL search_path TO "` + id.Schema() + `", pg_temp; `

	if err := uow.WithinTenant(ctx, id, func(ctx context.Context) error {
		for _, name := range []string{"One", "Two", "Three"} {
			if err := insertCloud(ctx, db, name); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	msgs := log.Take()
	if len(msgs) != 4 {
		t.Fatalf("3 statements cost %d round trips, want 4: %q", len(msgs), msgs)
	}
	if !strings.HasPrefix(msgs[0], prefix+"INSERT INTO cloud_providers") {
		t.Errorf("first message %q does not carry BEGIN and SET LOCAL", msgs[0])
	}
	for _, m := range msgs[1:3] {
		if !strings.HasPrefix(m, "INSERT INTO cloud_providers") {
			t.Errorf("later statement %q is not sent alone", m)
		}
	}
	if !strings.Contains(msgs[3], "COMMIT") {
		t.Errorf("last message %q is not the commit", msgs[3])
	}

	if err := uow.WithinTenant(ctx, id, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if msgs := log.Take(); len(msgs) != 0 {
		t.Errorf("an empty unit of work sent %q", msgs)
	}

	if err := uow.ReadTenant(ctx, id, func(ctx context.Context) error {
		h, _, _ := postgres.TenantHandle(ctx, db)
		var n int
		for range 2 {
			if err := h.NewRaw("SELECT count(*) FROM cloud_providers").Scan(ctx, &n); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	msgs = log.Take()
	if len(msgs) != 2 {
		t.Fatalf("2 reads cost %d round trips, want 2: %q", len(msgs), msgs)
	}
	for _, m := range msgs {
		if !strings.HasPrefix(m, `SET LOCAL search_path TO "`+id.Schema()+`", pg_temp; SET LOCAL transaction_read_only TO on; SELECT`) {
			t.Errorf("read %q is not one self-scoped message", m)
		}
	}
}
