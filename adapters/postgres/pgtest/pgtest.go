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

// NewDatabase creates a fresh database and returns its URL; it is dropped
// (with any open connections) when the test ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(AdminURL())))
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		if os.Getenv("REQUIRE_DB") == "1" {
			tb.Fatalf("pgtest: PostgreSQL is required (REQUIRE_DB=1) but unreachable at %s: %v", AdminURL(), err)
		}
		fmt.Fprintf(os.Stderr, "\n*** pgtest: SKIPPING database tests: PostgreSQL unreachable at %s: %v ***\n\n", AdminURL(), err)
		tb.Skipf("PostgreSQL unreachable: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "schemata_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() { Drop(tb, name) })
	u, err := url.Parse(AdminURL())
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Drop removes a test database, terminating its connections.
func Drop(tb testing.TB, name string) {
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(AdminURL())))
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
		tb.Errorf("pgtest: drop database %s: %v", name, err)
	}
}
