package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/tenancy"
)

// maxFleetPasses bounds how often a fleet run re-checks for work that appeared
// during a pass (tenants created by an older binary while the rollout ran).
const maxFleetPasses = 5

// maxLedgerError bounds the error text stored in the ledger.
const maxLedgerError = 2000

// versionMovedMarker names the relation the fast path's version guard fails
// to find when the tenant is not at the planned version (see
// versionGuardSQL); no migration can name it.
const versionMovedMarker = "schemata_version_moved_"

// asyncCommit lets a tenant's migration transaction commit without waiting
// for its WAL to reach disk. A crash can then lose the last few commits, but
// never part of one: each lost tenant is back at its old version with its old
// ledger row, and a rerun migrates it again. Run makes everything durable
// with one synchronous commit before it returns (flushDurable). On a
// fsync-bound server this saves a WAL flush per tenant.
const asyncCommit = "SET LOCAL synchronous_commit TO off; "

// TenantMigrator brings every tenant schema to the latest version of a tenant
// migration set, using public.tenant_fleet as the ledger of where each tenant
// stands. Run is the fleet runner; Status reads the ledger.
type TenantMigrator struct {
	db *bun.DB
	ts TenantSchema
	// messages[i] is ts.Migrations[i] followed by its record (see
	// migrationMessage), formatted once.
	messages []string

	// afterPass, when set (tests only), is called after each fleet pass.
	afterPass func(pass int)
	// beforeMessage, when set (tests only), is called before the fast path
	// sends message i (0-based) of tenant id's transaction.
	beforeMessage func(id tenancy.CompanyID, i int)
}

// NewTenantMigrator returns a migrator for the tenant migration set of ts.
func NewTenantMigrator(db *bun.DB, ts TenantSchema) *TenantMigrator {
	m := &TenantMigrator{db: db, ts: ts, messages: make([]string, len(ts.Migrations))}
	for i, mig := range ts.Migrations {
		m.messages[i] = migrationMessage(db, mig)
	}
	return m
}

// pendingMessages returns the messages of the migrations after version v.
func (m *TenantMigrator) pendingMessages(v int64) []string {
	return m.messages[len(m.ts.Migrations)-len(m.ts.Migrations.After(v)):]
}

// MigrateAll migrates every tenant that is behind the latest version, or whose
// last run failed, with at most parallel tenants at once (<= 0: the tenancy
// default), waiting for another fleet run to finish first. It is Run with
// FleetOptions{Parallel: parallel, Wait: true} and returns Run's results: one
// per tenant attempted, and an error when any failed.
func (m *TenantMigrator) MigrateAll(ctx context.Context, parallel int) ([]tenancy.Result, error) {
	rep, err := m.Run(ctx, FleetOptions{Parallel: parallel, Wait: true})
	return rep.Results, err
}

// tenantWork is one tenant of a fleet pass: the version the ledger records
// for it, if it has a ledger row.
type tenantWork struct {
	id       tenancy.CompanyID
	from     int64
	recorded bool
}

// migrateTenant brings one tenant to the latest version in one transaction
// that holds the tenant's advisory lock, commits the pending migrations, their
// records and the ledger row together, and records a failure in the ledger
// after rolling back. A tenant deleted meanwhile is skipped (nil). A run cut
// short by ctx leaves the ledger as it was: the tenant was not changed.
func (m *TenantMigrator) migrateTenant(ctx context.Context, w tenantWork) error {
	start := time.Now()
	version := w.from
	var err error
	if w.recorded {
		err = m.migrateFast(ctx, w.id, w.from)
	}
	if !w.recorded || isVersionMoved(err) {
		version, err = m.migrateSlow(ctx, w.id)
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err // not attempted, or rolled back because the run was cancelled
	}
	if rerr := m.recordFailure(ctx, w.id, version, err, time.Since(start)); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// recordFailure marks the tenant failed in the ledger (creating its row, at
// version, if it had none) after its transaction was rolled back. It runs even
// when ctx was cancelled.
func (m *TenantMigrator) recordFailure(ctx context.Context, id tenancy.CompanyID, version int64, cause error, d time.Duration) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	msg := cause.Error()
	if len(msg) > maxLedgerError {
		msg = strings.ToValidUTF8(msg[:maxLedgerError], "") + "…"
	}
	q := m.db.QueryGen().FormatQuery(`INSERT INTO public.tenant_fleet AS f (company_id, version, status, error, duration_ms, updated_at)
SELECT c.id, ?, 'failed', ?, ?, clock_timestamp() FROM public.companies c WHERE c.id = ?
ON CONFLICT (company_id) DO UPDATE SET status = 'failed', error = EXCLUDED.error,
    duration_ms = EXCLUDED.duration_ms, updated_at = EXCLUDED.updated_at`,
		version, msg, d.Milliseconds(), int64(id))
	if _, err := m.db.DB.ExecContext(rctx, q); err != nil {
		return fmt.Errorf("postgres: record failure of company %d in the fleet ledger: %w", id, err)
	}
	return nil
}

// ledgerOKSQL records success in the tenant's ledger row, creating it if it
// is missing, inside the tenant's transaction. The duration is the
// transaction's own, measured by the server.
func (m *TenantMigrator) ledgerOKSQL(id tenancy.CompanyID, version int64) string {
	return m.db.QueryGen().FormatQuery(`INSERT INTO public.tenant_fleet AS f (company_id, version, status, error, duration_ms, updated_at)
VALUES (?, ?, 'ok', '', (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint, clock_timestamp())
ON CONFLICT (company_id) DO UPDATE SET version = EXCLUDED.version, status = 'ok', error = '',
    duration_ms = EXCLUDED.duration_ms, updated_at = EXCLUDED.updated_at`, int64(id), version)
}

// ledgerUpdateSQL records success in the tenant's existing ledger row (the
// fast path, where the plan read it).
func ledgerUpdateSQL(id tenancy.CompanyID, version int64) string {
	return "UPDATE public.tenant_fleet SET version = " + strconv.FormatInt(version, 10) + `, status = 'ok', error = '',
    duration_ms = (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint, updated_at = clock_timestamp()
WHERE company_id = ` + id.String()
}

// versionGuardSQL fails unless the tenant schema (the transaction's
// search_path) records exactly version from: the cast of a name that cannot
// exist to regclass raises undefined_table naming versionMovedMarker. A
// schema that is gone (the company was deleted while the run waited for its
// lock) fails with undefined_table on schemata_migrations. Plain SQL rather
// than a DO block: PL/pgSQL compiles a DO block on every call, which cost a
// third of a small tenant migration. The guard runs after the tenant lock is
// held, in a statement of its own, so it sees whatever a runner that held the
// lock before committed.
func versionGuardSQL(from int64) string {
	v := strconv.FormatInt(from, 10)
	return "SELECT CASE WHEN coalesce(max(version), 0) = " + v + " THEN NULL ELSE ('" + versionMovedMarker +
		"' || coalesce(max(version), 0))::pg_catalog.regclass END FROM schemata_migrations"
}

// isVersionMoved reports whether err is the version guard's: the tenant is
// not at the planned version or its schema is gone; nothing was done.
func isVersionMoved(err error) bool {
	var pgErr pgdriver.Error
	if !errors.As(err, &pgErr) || pgErr.Field('C') != sqlstateUndefinedTable {
		return false
	}
	msg := pgErr.Field('M')
	return strings.Contains(msg, `"`+versionMovedMarker) || strings.Contains(msg, `"schemata_migrations"`)
}

// flushDurable makes the tenant transactions committed asynchronously by this
// run durable: it commits a synchronous transaction that rewrites the ledger
// row of one of the tenants migrated (updated_at to itself), and a
// synchronous commit flushes all WAL written before it. When none of those
// rows exists any more, their deletion was itself a synchronous commit that
// flushed the migrations before it.
func (m *TenantMigrator) flushDurable(ctx context.Context, migrated []tenancy.CompanyID) error {
	if len(migrated) == 0 {
		return nil
	}
	ids := make([]int64, len(migrated))
	for i, id := range migrated {
		ids[i] = int64(id)
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	q := m.db.QueryGen().FormatQuery(`SET LOCAL synchronous_commit TO on; UPDATE public.tenant_fleet SET updated_at = updated_at
WHERE company_id = (SELECT company_id FROM public.tenant_fleet WHERE company_id = ANY(?::bigint[]) LIMIT 1)`, pgdialect.Array(ids))
	if _, err := m.db.DB.ExecContext(fctx, q); err != nil {
		return fmt.Errorf("postgres: fleet migration: make the run durable (the ledger tells which tenants were migrated): %w", err)
	}
	return nil
}

// migrateFast migrates a tenant whose ledger says it is at version from, in as
// few round trips as the migrations allow: one per pending migration (so that
// an error names its migration), and one in all for the usual single pending
// migration. The first message carries BEGIN, the search_path, the tenant
// lock and a guard that the schema really is at from; the last carries the
// ledger row and COMMIT. PostgreSQL skips the rest of a message after an
// error, so a failed statement never reaches the COMMIT. When the guard trips
// (another runner got there first, the ledger disagrees with the schema, the
// company is gone), the error satisfies isVersionMoved and nothing was done.
func (m *TenantMigrator) migrateFast(ctx context.Context, id tenancy.CompanyID, from int64) error {
	set := m.ts.Migrations
	pending, pendingMsgs := set.After(from), m.pendingMessages(from)
	n := max(len(pending), 1) // at least one message: a failed tenant at latest only needs its ledger row
	msgs := make([]string, n)
	for i := range msgs {
		var sb strings.Builder
		if i == 0 {
			sb.WriteString("BEGIN; " + asyncCommit + setSearchPath(id) + tenantLockSQL(id) + ";\n" + versionGuardSQL(from) + ";\n")
		}
		if i < len(pending) {
			sb.WriteString(pendingMsgs[i] + ";\n")
		}
		if i == n-1 {
			sb.WriteString(ledgerUpdateSQL(id, set.Latest()) + ";\nCOMMIT")
		}
		msgs[i] = sb.String()
	}
	label := func(i int) string {
		if i < len(pending) {
			return "migration " + migrationLabel(pending[i])
		}
		return "fleet ledger"
	}

	conn, err := m.db.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Close()
	for i, msg := range msgs {
		if m.beforeMessage != nil {
			m.beforeMessage(id, i)
		}
		// pgdriver honours deadlines only: check for cancellation here so that
		// no further message of a cancelled run is sent.
		if err := ctx.Err(); err != nil {
			if i > 0 {
				abandon(ctx, conn, nil)
			}
			return err
		}
		if _, err := conn.ExecContext(ctx, msg); err != nil {
			abandon(ctx, conn, err)
			if isVersionMoved(err) {
				return err
			}
			var pgErr pgdriver.Error
			if i == n-1 && !errors.As(err, &pgErr) {
				return fmt.Errorf("%s: connection failed, commit outcome unknown (the ledger tells after a rerun): %w", label(i), err)
			}
			return fmt.Errorf("%s: %w", label(i), err)
		}
	}
	return nil
}

// abandon ends the transaction left open on conn by a failed or cut-short
// fast path. A connection that gave no PostgreSQL answer (cause is not a
// server error) or cannot roll back is discarded, never pooled.
func abandon(ctx context.Context, conn *sql.Conn, cause error) {
	var pgErr pgdriver.Error
	if cause != nil && !errors.As(cause, &pgErr) {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(rctx, "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// migrateSlow migrates a tenant whose ledger row is missing or disagrees with
// its schema: it reads the schema's real version under the tenant lock, step
// by step, in one transaction. It returns the version the schema was at.
func (m *TenantMigrator) migrateSlow(ctx context.Context, id tenancy.CompanyID) (int64, error) {
	var current int64
	err := runWrite(ctx, m.db, id, func(ctx context.Context) error {
		s := scopeFrom(ctx)
		// BEGIN and SET LOCAL ride on this first message. The lock is its own
		// statement so that the reads below take their snapshot after it is
		// held and see whatever a runner that held it before committed.
		if _, err := s.ExecContext(ctx, asyncCommit+tenantLockSQL(id)); err != nil {
			return fmt.Errorf("tenant lock: %w", err)
		}
		var exists, hasTable bool
		if err := s.QueryRowContext(ctx,
			"SELECT EXISTS (SELECT 1 FROM public.companies WHERE id = $1), pg_catalog.to_regclass('schemata_migrations') IS NOT NULL",
			int64(id)).Scan(&exists, &hasTable); err != nil {
			return fmt.Errorf("check company: %w", err)
		}
		if !exists {
			current = -1
			return nil // deleted since the ledger was read: nothing to migrate
		}
		if !hasTable {
			return fmt.Errorf("schema %s or its schemata_migrations table does not exist (see tenants verify)", id.Schema())
		}
		if err := s.QueryRowContext(ctx,
			"SELECT coalesce(max(version), 0) FROM schemata_migrations").Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		set := m.ts.Migrations
		if current > set.Latest() {
			return fmt.Errorf("schema is at version %d, newer than this program knows (latest %d)", current, set.Latest())
		}
		msgs := m.pendingMessages(current)
		for i, mig := range set.After(current) {
			if _, err := s.ExecContext(ctx, msgs[i]); err != nil {
				return fmt.Errorf("migration %s: %w", migrationLabel(mig), err)
			}
		}
		if _, err := s.ExecContext(ctx, m.ledgerOKSQL(id, set.Latest())); err != nil {
			return fmt.Errorf("update fleet ledger: %w", err)
		}
		return nil
	})
	return max(current, 0), err
}
