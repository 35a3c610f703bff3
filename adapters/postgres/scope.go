package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// ErrNoTenantScope is returned by tenant repositories called outside a unit of
// work: tenant scoping fails closed.
var ErrNoTenantScope = errors.New("postgres: no tenant scope in context (use UnitOfWork.WithinTenant or ReadTenant)")

type scopeMode int

const (
	modeRead scopeMode = iota
	modeWrite
)

// scope is the tenant-scoped statement handle carried in a context. It
// implements bun.IConn, so every bun query can run on it with .Conn(scope).
//
// A read scope sends each statement as one simple-protocol message
// `SET LOCAL search_path TO "company_7"; SET LOCAL transaction_read_only TO on; <stmt>`:
// PostgreSQL runs a multi-statement message as one implicit transaction, so the
// scope lives exactly as long as the statement, on any pooled connection, one
// round trip, and no session state is ever left behind.
//
// A scope belongs to one goroutine at a time, like *sql.Tx: a write scope's
// statements share one connection, so do not run statements of one unit of
// work concurrently (the mutex keeps the bookkeeping consistent, not the
// wire protocol while rows are being read).
//
// A write scope pins one connection and prefixes its first statement with
// `BEGIN; SET LOCAL search_path TO "company_7";`, so a unit of work of N
// statements costs N+1 round trips (the +1 is COMMIT). The transaction always
// ends (COMMIT, or ROLLBACK) before the connection goes back to the pool; a
// connection whose transaction cannot be ended is discarded, never reused.
type scope struct {
	db      *bun.DB
	mode    scopeMode
	company tenancy.CompanyID // 0 while a provisioning scope has no tenant yet

	mu      sync.Mutex
	conn    *sql.Conn // write mode only
	pending string    // write mode: SQL to send before the next statement
	began   bool      // write mode: BEGIN has been sent
	done    bool
	prefix  string // read mode: the per-statement prefix
}

type scopeKey struct{}

func withScope(ctx context.Context, s *scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

func scopeFrom(ctx context.Context) *scope {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

// setSearchPath is the only place a tenant schema name is put into SQL: the
// name is derived from a validated CompanyID and quoted as an identifier.
// pg_temp is listed last explicitly: PostgreSQL otherwise searches it first, and
// a temporary table left on a pooled connection could shadow a tenant table.
func setSearchPath(id tenancy.CompanyID) string {
	return `SET LOCAL search_path TO "` + id.Schema() + `", pg_temp; `
}

func newReadScope(db *bun.DB, id tenancy.CompanyID) *scope {
	return &scope{db: db, mode: modeRead, company: id,
		prefix: setSearchPath(id) + "SET LOCAL transaction_read_only TO on; "}
}

func newWriteScope(ctx context.Context, db *bun.DB, id tenancy.CompanyID) (*scope, error) {
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: acquire connection: %w", err)
	}
	s := &scope{db: db, mode: modeWrite, conn: conn, pending: "BEGIN; "}
	if id != 0 {
		s.enterTenant(id)
	}
	return s, nil
}

// enterTenant scopes the rest of a write transaction to id (used by the
// provisioner once the company row has its id).
func (s *scope) tenant() tenancy.CompanyID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.company
}

func (s *scope) enterTenant(id tenancy.CompanyID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.company = id
	s.pending += setSearchPath(id)
}

func (s *scope) statement(ctx context.Context, query string) (string, error) {
	if s.done {
		return "", errors.New("postgres: unit of work already finished")
	}
	// pgdriver ignores cancellation (it honours deadlines only) and
	// database/sql checks the context only when it takes a connection from the
	// pool, which a write scope did at its start: check here, so that no
	// statement of a cancelled unit of work is sent.
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if s.mode == modeRead {
		return s.prefix + query, nil
	}
	q := s.pending + query
	if s.pending != "" {
		s.began = true
		s.pending = ""
	}
	return q, nil
}

func (s *scope) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.mode == modeRead {
		return s.db.DB.QueryContext(ctx, q, args...)
	}
	return s.conn.QueryContext(ctx, q, args...)
}

func (s *scope) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.mode == modeRead {
		return s.db.DB.ExecContext(ctx, q, args...)
	}
	return s.conn.ExecContext(ctx, q, args...)
}

func (s *scope) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.statement(ctx, query)
	if err != nil {
		if ctx.Err() != nil {
			// The pool refuses a done context before sending anything, so
			// Scan reports ctx.Err().
			return s.db.DB.QueryRowContext(ctx, "SELECT 1")
		}
		q = "SELECT 1/0 -- " + "unit of work already finished" // surfaces as an error from Scan
	}
	if s.mode == modeRead {
		return s.db.DB.QueryRowContext(ctx, q, args...)
	}
	return s.conn.QueryRowContext(ctx, q, args...)
}

// finish ends a write scope: COMMIT when commit is true and a transaction was
// begun, ROLLBACK otherwise, then returns the connection to the pool — or
// discards it when the transaction could not be ended cleanly.
func (s *scope) finish(ctx context.Context, commit bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done || s.mode != modeWrite {
		return nil
	}
	s.done = true
	defer s.conn.Close()
	if !s.began {
		return nil
	}
	// A unit of work whose context is done is never committed (as with
	// database/sql's Tx): its statements may have been cut short.
	ctxErr := ctx.Err()
	// Finishing must not be cut short by the caller's cancelled context.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if commit && ctxErr == nil {
		// PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK and
		// no error, which would hide a statement error that fn swallowed. The
		// leading SELECT fails in an aborted transaction and skips the COMMIT,
		// so success is reported only when the commit really happened — still in
		// one round trip.
		_, err := s.conn.ExecContext(fctx, "SELECT 1; COMMIT")
		if err == nil {
			return nil
		}
		var pgErr pgdriver.Error
		if !errors.As(err, &pgErr) {
			// No answer from the server (I/O error, timeout): the commit may or
			// may not have happened, and the connection's state is unknown.
			s.discard()
			return fmt.Errorf("postgres: commit outcome unknown (connection failed during COMMIT): %w", err)
		}
		if _, rbErr := s.conn.ExecContext(fctx, "ROLLBACK"); rbErr != nil {
			s.discard()
		}
		return fmt.Errorf("postgres: commit failed, transaction rolled back: %w", mapError(err))
	}
	if _, err := s.conn.ExecContext(fctx, "ROLLBACK"); err != nil {
		s.discard()
		return fmt.Errorf("postgres: rollback: %w", err)
	}
	if commit {
		return fmt.Errorf("postgres: unit of work rolled back, not committed: %w", ctxErr)
	}
	return nil
}

// discard marks the pinned connection bad so database/sql closes it instead
// of pooling a connection whose transaction state is unknown.
func (s *scope) discard() {
	_ = s.conn.Raw(func(any) error { return driver.ErrBadConn })
}

// Handle is a tenant-scoped (or public) statement handle for embedders and
// repositories: bun query builders bound to the current unit of work.
type Handle struct {
	DB   *bun.DB
	Conn bun.IConn
}

// NewSelect starts a SELECT on the handle's connection.
func (h Handle) NewSelect() *bun.SelectQuery { return h.DB.NewSelect().Conn(h.Conn) }

// NewInsert starts an INSERT on the handle's connection.
func (h Handle) NewInsert() *bun.InsertQuery { return h.DB.NewInsert().Conn(h.Conn) }

// NewUpdate starts an UPDATE on the handle's connection.
func (h Handle) NewUpdate() *bun.UpdateQuery { return h.DB.NewUpdate().Conn(h.Conn) }

// NewDelete starts a DELETE on the handle's connection.
func (h Handle) NewDelete() *bun.DeleteQuery { return h.DB.NewDelete().Conn(h.Conn) }

// NewRaw starts a raw query on the handle's connection.
func (h Handle) NewRaw(query string, args ...any) *bun.RawQuery {
	return h.DB.NewRaw(query, args...).Conn(h.Conn)
}

// TenantHandle returns the handle of the tenant unit of work in ctx and its
// tenant. Without one it returns ErrNoTenantScope: tenant queries fail closed.
func TenantHandle(ctx context.Context, db *bun.DB) (Handle, tenancy.CompanyID, error) {
	s := scopeFrom(ctx)
	if s == nil {
		return Handle{}, 0, ErrNoTenantScope
	}
	id := s.tenant()
	if id == 0 {
		return Handle{}, 0, ErrNoTenantScope
	}
	return Handle{DB: db, Conn: s}, id, nil
}

// PublicHandle returns a handle for public (schema-qualified) tables: the
// current write unit of work when there is one, so that public rows commit
// with the tenant's, the pool otherwise.
func PublicHandle(ctx context.Context, db *bun.DB) Handle {
	// A read scope is read-only and gives public tables nothing (they are
	// qualified), so public statements made under it go to the pool: an audit
	// event recorded on a read path can still be written.
	if s := scopeFrom(ctx); s != nil && s.mode == modeWrite {
		return Handle{DB: db, Conn: s}
	}
	return Handle{DB: db, Conn: db}
}

// UnitOfWork implements ports.UnitOfWork with transaction-scoped search_path.
type UnitOfWork struct {
	DB *bun.DB
}

// NewUnitOfWork returns the unit of work over db.
func NewUnitOfWork(db *bun.DB) *UnitOfWork { return &UnitOfWork{DB: db} }

// WithinTenant runs fn in one transaction scoped to tenant id. Nested calls
// for the same tenant join the outer transaction; for another tenant they fail.
func (u *UnitOfWork) WithinTenant(ctx context.Context, id tenancy.CompanyID, fn func(ctx context.Context) error) error {
	if !id.Valid() {
		return domain.Errorf(domain.CodeInternal, "unit of work for invalid company id %d", id)
	}
	if outer := scopeFrom(ctx); outer != nil {
		if outer.tenant() != id {
			return fmt.Errorf("postgres: unit of work for company %d nested in one for company %d", id, outer.tenant())
		}
		if outer.mode == modeWrite {
			return fn(ctx)
		}
		// a write inside a read scope gets its own transaction below
	}
	return runWrite(ctx, u.DB, id, fn)
}

// ReadTenant runs fn with a read-only, per-statement tenant scope. Inside a
// write unit of work for the same tenant, fn joins the transaction.
func (u *UnitOfWork) ReadTenant(ctx context.Context, id tenancy.CompanyID, fn func(ctx context.Context) error) error {
	if !id.Valid() {
		return domain.Errorf(domain.CodeInternal, "unit of work for invalid company id %d", id)
	}
	if outer := scopeFrom(ctx); outer != nil {
		if outer.tenant() != id {
			return fmt.Errorf("postgres: unit of work for company %d nested in one for company %d", id, outer.tenant())
		}
		return fn(ctx)
	}
	s := newReadScope(u.DB, id)
	defer func() {
		s.mu.Lock()
		s.done = true // a context that escapes fn cannot keep using the scope
		s.mu.Unlock()
	}()
	return fn(withScope(ctx, s))
}

// runWrite runs fn in a write scope (tenant id, or none yet when id is 0) and
// commits or rolls back. A panic in fn rolls back and re-panics.
func runWrite(ctx context.Context, db *bun.DB, id tenancy.CompanyID, fn func(ctx context.Context) error) (err error) {
	s, err := newWriteScope(ctx, db, id)
	if err != nil {
		return err
	}
	return runScope(ctx, s, fn)
}

func runScope(ctx context.Context, s *scope, fn func(ctx context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			_ = s.finish(ctx, false)
			panic(r)
		}
	}()
	if err := fn(withScope(ctx, s)); err != nil {
		if rbErr := s.finish(ctx, false); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		return err
	}
	return s.finish(ctx, true)
}
