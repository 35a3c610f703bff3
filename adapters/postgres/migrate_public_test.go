package postgres_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/adapters/postgres/pgtest"
	"github.com/schemata/schemata/migrations"
	"github.com/schemata/schemata/tenancy"
)

// newEmptyDB opens a fresh database without any migration applied.
func newEmptyDB(t testing.TB, maxOpenConns int) *bun.DB {
	t.Helper()
	db, err := postgres.Open(pgtest.NewDatabase(t), postgres.Options{MaxOpenConns: maxOpenConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// publicPlus is Schemata's public set with extra migrations added.
func publicPlus(t testing.TB, extra map[string]string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(migrations.Public(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.Public(), p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, sql := range extra {
		m[name] = &fstest.MapFile{Data: []byte(sql)}
	}
	return m
}

func publicVersions(t testing.TB, db *bun.DB) []int64 {
	t.Helper()
	var vs []int64
	if err := db.NewRaw("SELECT version FROM public.schemata_public_migrations ORDER BY version").Scan(context.Background(), &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

func tableExists(t testing.TB, db *bun.DB, qualified string) bool {
	t.Helper()
	var ok bool
	if err := db.NewRaw("SELECT to_regclass(?) IS NOT NULL", qualified).Scan(context.Background(), &ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestMigratePublic(t *testing.T) {
	db := newEmptyDB(t, 4)
	ctx := context.Background()
	if err := postgres.MigratePublic(ctx, db, migrations.Public()); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"public.companies", "public.user_company_lookup", "public.audit_log", "public.tenant_fleet"} {
		if !tableExists(t, db, table) {
			t.Errorf("%s missing", table)
		}
	}
	n := publicSetLen(t)
	if vs := publicVersions(t, db); len(vs) != n || vs[n-1] != int64(n) {
		t.Fatalf("recorded versions %v, want 1..%d", vs, n)
	}
	var before string
	if err := db.NewRaw("SELECT max(applied_at)::text FROM public.schemata_public_migrations").Scan(ctx, &before); err != nil {
		t.Fatal(err)
	}

	t.Run("idempotent", func(t *testing.T) {
		if err := postgres.MigratePublic(ctx, db, migrations.Public()); err != nil {
			t.Fatal(err)
		}
		var after string
		if err := db.NewRaw("SELECT max(applied_at)::text FROM public.schemata_public_migrations").Scan(ctx, &after); err != nil {
			t.Fatal(err)
		}
		if vs := publicVersions(t, db); len(vs) != n || after != before {
			t.Errorf("second run changed the ledger: %v, %s → %s", vs, before, after)
		}
	})

	t.Run("failed migration rolls back alone", func(t *testing.T) {
		bad := publicPlus(t, map[string]string{
			"0090_half.sql": "CREATE TABLE public.half (id bigint PRIMARY KEY);\nSELECT 1/0;",
		})
		err := postgres.MigratePublic(ctx, db, bad)
		if err == nil || !strings.Contains(err.Error(), "0090_half") {
			t.Fatalf("MigratePublic = %v, want an error naming 0090_half", err)
		}
		if tableExists(t, db, "public.half") {
			t.Error("the failed migration's first statement was kept")
		}
		if vs := publicVersions(t, db); len(vs) != n {
			t.Errorf("recorded versions %v after a failure, want 1..%d", vs, n)
		}
	})

	t.Run("unqualified names are refused", func(t *testing.T) {
		err := postgres.MigratePublic(ctx, db, publicPlus(t, map[string]string{
			"0090_unqualified.sql": "CREATE TABLE unqualified (id bigint PRIMARY KEY);",
		}))
		// search_path is pg_catalog, where nothing may be created.
		if err == nil || !strings.Contains(err.Error(), "0090_unqualified") || !strings.Contains(err.Error(), "pg_catalog.unqualified") {
			t.Fatalf("an unqualified public migration = %v, want it refused", err)
		}
	})

	t.Run("new migration applied", func(t *testing.T) {
		if err := postgres.MigratePublic(ctx, db, publicPlus(t, map[string]string{
			"0090_extra.sql": "CREATE TABLE public.extra (id bigint PRIMARY KEY);",
		})); err != nil {
			t.Fatal(err)
		}
		if !tableExists(t, db, "public.extra") {
			t.Error("public.extra missing")
		}
		if vs := publicVersions(t, db); len(vs) != n+1 || vs[n] != 90 {
			t.Errorf("recorded versions %v, want 1..%d and 90", vs, n)
		}
	})

	t.Run("refuses a newer database", func(t *testing.T) {
		err := postgres.MigratePublic(ctx, db, migrations.Public())
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("MigratePublic on a database at version 90 with an older set = %v, want a refusal", err)
		}
	})
}

// Concurrent runners (two processes starting at once) apply each migration
// exactly once and all succeed: the advisory lock serialises them.
func TestMigratePublicConcurrent(t *testing.T) {
	const runners = 4
	db := newEmptyDB(t, runners)
	var wg sync.WaitGroup
	errs := make([]error, runners)
	for i := range runners {
		wg.Go(func() { errs[i] = postgres.MigratePublic(context.Background(), db, migrations.Public()) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent MigratePublic: %v", err)
	}
	if vs := publicVersions(t, db); len(vs) != publicSetLen(t) {
		t.Errorf("recorded versions %v, want one per migration of the set", vs)
	}
}

// publicSetLen is the number of migrations in Schemata's public set.
func publicSetLen(t testing.TB) int {
	t.Helper()
	set, err := tenancy.LoadMigrations(migrations.Public())
	if err != nil {
		t.Fatal(err)
	}
	return len(set)
}

func TestMigratePublicRejectsEmptySet(t *testing.T) {
	db := newEmptyDB(t, 1)
	if err := postgres.MigratePublic(context.Background(), db, fstest.MapFS{}); err == nil {
		t.Error("an empty public set was accepted")
	}
	if _, err := postgres.LoadTenantSchema(fstest.MapFS{}, nil); err == nil {
		t.Error("an empty tenant set was accepted")
	}
}
