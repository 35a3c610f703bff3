package postgres_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/adapters/postgres/pgtest"
	"github.com/schemata/schemata/migrations"
)

// stmtLog records every message the driver sends. pgdriver sends each
// ExecContext/QueryContext as exactly one simple-protocol message and waits
// for its answer, so the number of entries is the number of round trips.
type stmtLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *stmtLog) add(q string) {
	l.mu.Lock()
	l.msgs = append(l.msgs, q)
	l.mu.Unlock()
}

// Take returns the messages sent since the last Take and forgets them.
func (l *stmtLog) Take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.msgs)
	l.msgs = nil
	return out
}

// newLoggedDB opens a fresh database (public migrations applied) through a
// driver wrapper that logs every message, configured like postgres.Open.
func newLoggedDB(t testing.TB, maxOpenConns int) (*bun.DB, *stmtLog) {
	t.Helper()
	log := &stmtLog{}
	inner := pgdriver.NewConnector(
		pgdriver.WithDSN(pgtest.NewDatabase(t)),
		pgdriver.WithConnParams(map[string]any{"search_path": postgres.NoTenantSearchPath}),
	)
	sqldb := sql.OpenDB(loggingConnector{inner: inner, log: log})
	sqldb.SetMaxOpenConns(maxOpenConns)
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { _ = db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := postgres.MigratePublic(ctx, db, migrations.Public()); err != nil {
		t.Fatalf("migrate public: %v", err)
	}
	log.Take()
	return db, log
}

type loggingConnector struct {
	inner driver.Connector
	log   *stmtLog
}

func (c loggingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &loggingConn{Conn: cn, log: c.log}, nil
}

func (c loggingConnector) Driver() driver.Driver { return c.inner.Driver() }

type loggingConn struct {
	driver.Conn
	log *stmtLog
}

var errNotSupported = errors.New("loggingConn: not supported")

func (c *loggingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.log.add(q)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *loggingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.log.add(q)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *loggingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := c.Conn.(driver.ConnBeginTx)
	if !ok {
		return nil, errNotSupported
	}
	c.log.add("BEGIN (driver)")
	return b.BeginTx(ctx, opts)
}

func (c *loggingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *loggingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}
