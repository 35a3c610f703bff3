// Package pgtest gives each test package its own throw-away PostgreSQL
// database. It belongs to the postgres adapter's test tooling: with no server
// reachable, tests skip with one loud line, except under REQUIRE_DB=1 (set by
// .ci/run), where they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// AdminURL is the server used to create test databases:
// $TEST_DATABASE_URL, or the local default.
func AdminURL() string {
	if s := os.Getenv("TEST_DATABASE_URL"); s != "" {
		return s
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// ErrUnreachable is returned (wrapped) by Create when no PostgreSQL server
// answers at AdminURL.
var ErrUnreachable = errors.New("pgtest: PostgreSQL unreachable")

// Required reports whether database tests must run: REQUIRE_DB=1 (set by
// .ci/run) turns an unreachable server into a failure instead of a skip.
func Required() bool { return os.Getenv("REQUIRE_DB") == "1" }

// Create creates a fresh database without a testing.TB (for TestMain) and
// returns its URL and a function that drops it, terminating its connections.
// An unreachable server yields an error wrapping ErrUnreachable.
func Create(ctx context.Context) (dsn string, drop func() error, err error) {
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(AdminURL())))
	defer admin.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := admin.PingContext(pctx); err != nil {
		return "", nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, AdminURL(), err)
	}
	u, err := url.Parse(AdminURL())
	if err != nil {
		return "", nil, fmt.Errorf("pgtest: bad admin URL: %w", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "schemata_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(pctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return "", nil, fmt.Errorf("pgtest: create database: %w", err)
	}
	u.Path = "/" + name
	return u.String(), func() error { return dropDatabase(name) }, nil
}

// NewDatabase creates a fresh database and returns its URL; it is dropped
// (with any open connections) when the test ends. With no server reachable the
// test is skipped with one loud line, or fails under REQUIRE_DB=1.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	dsn, drop, err := Create(context.Background())
	if errors.Is(err, ErrUnreachable) {
		if Required() {
			tb.Fatalf("pgtest: PostgreSQL is required (REQUIRE_DB=1) but %v", err)
		}
		fmt.Fprintf(os.Stderr, "\n*** pgtest: SKIPPING database tests: %v ***\n\n", err)
		tb.Skipf("PostgreSQL unreachable: %v", err)
	}
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() {
		if err := drop(); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return dsn
}

// Drop removes a test database, terminating its connections.
func Drop(tb testing.TB, name string) {
	if err := dropDatabase(name); err != nil {
		tb.Errorf("%v", err)
	}
}

func dropDatabase(name string) error {
	// Dropping a database with thousands of schemas (the scale benchmark)
	// takes minutes: no driver read timeout, a generous context instead.
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(AdminURL()), pgdriver.WithReadTimeout(0)))
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}
