package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/adapters/postgres/pgtest"
	"github.com/schemata/schemata/migrations"
)

// testDSN is the URL of a database created for this test binary by TestMain,
// with the public migrations applied. Examples use it (they cannot create a
// database of their own); tests that want isolation use newDB instead.
var testDSN string

// TestMain creates the package database. With no PostgreSQL reachable it
// prints one loud SKIP line and exits 0, or exits 1 under REQUIRE_DB=1.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	dsn, drop, err := pgtest.Create(ctx)
	cancel()
	if err != nil {
		if errors.Is(err, pgtest.ErrUnreachable) && !pgtest.Required() {
			fmt.Fprintf(os.Stderr, "\n*** SKIP adapters/postgres: every database test skipped: %v (set REQUIRE_DB=1 to fail instead) ***\n\n", err)
			return 0
		}
		fmt.Fprintf(os.Stderr, "adapters/postgres tests: %v\n", err)
		return 1
	}
	defer func() {
		if err := drop(); err != nil {
			fmt.Fprintf(os.Stderr, "adapters/postgres tests: %v\n", err)
		}
	}()
	if err := migratePublicAt(dsn); err != nil {
		fmt.Fprintf(os.Stderr, "adapters/postgres tests: %v\n", err)
		return 1
	}
	testDSN = dsn
	return m.Run()
}

func migratePublicAt(dsn string) error {
	db, err := postgres.Open(dsn, postgres.Options{MaxOpenConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return postgres.MigratePublic(ctx, db, migrations.Public())
}

// newDB opens a FRESH database for one test (dropped when it ends) with the
// public migrations applied. The optional maxOpenConns sets the pool size
// (default: postgres.Options' default).
func newDB(t testing.TB, maxOpenConns ...int) *bun.DB {
	t.Helper()
	var opt postgres.Options
	if len(maxOpenConns) > 0 {
		opt.MaxOpenConns = maxOpenConns[0]
	}
	db, err := postgres.Open(pgtest.NewDatabase(t), opt)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := postgres.MigratePublic(ctx, db, migrations.Public()); err != nil {
		t.Fatalf("migrate public: %v", err)
	}
	return db
}
