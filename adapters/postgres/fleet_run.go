package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/schemata/schemata/tenancy"
)

// fleetLockObject keys the session-level advisory lock held by a fleet run,
// in the two-int4 key space beside the public migration lock (object 1) and
// apart from the per-tenant single-bigint keys.
const fleetLockObject = 2

// ErrFleetBusy is returned by Run (wrapped, naming the holder when known)
// when another fleet run holds the fleet lock and FleetOptions.Wait is false.
var ErrFleetBusy = errors.New("another fleet migration is running")

// FleetOptions tune TenantMigrator.Run.
type FleetOptions struct {
	// Parallel bounds how many tenants migrate at once; <= 0 means
	// tenancy.DefaultParallelism(). It is also kept below the pool size (the
	// fleet lock pins one connection).
	Parallel int
	// Only restricts the run to these tenants; an id without a company row is
	// an error before anything runs.
	Only []tenancy.CompanyID
	// OnlyFailed restricts the run to tenants whose ledger status is failed.
	OnlyFailed bool
	// DryRun plans only: nothing is written, no lock is taken, OnPlan and
	// OnResult are not called.
	DryRun bool
	// Wait makes a run that finds another one holding the fleet lock wait for
	// it (true) instead of returning ErrFleetBusy (false).
	Wait bool
	// OnPlan is called once per pass, before its work starts, with the
	// tenants it will migrate (e.g. a progress bar's total).
	OnPlan func(plans []tenancy.Plan)
	// OnResult is called as each tenant finishes (e.g. a progress bar's
	// tick). It may be called concurrently.
	OnResult func(r tenancy.Result)
}

// FleetReport is what a fleet run did.
type FleetReport struct {
	// Latest is the latest version of the migration set in use.
	Latest int64
	// Planned is every tenant that was (or, with DryRun, would be) migrated,
	// pass after pass.
	Planned []tenancy.Plan
	// Results holds one result per tenant attempted, pass after pass; tenants
	// not started because ctx was cancelled carry ctx.Err().
	Results []tenancy.Result
	// NothingToDo is true when no tenant needed migrating (Planned is
	// empty): at the first look, or once the fleet lock was held (another
	// run did the work meanwhile).
	NothingToDo bool
}

// Run brings the tenants selected by o to the latest version of the
// migration set and returns what it did. The error is non-nil when any tenant
// failed (the others are migrated; the ledger records each tenant's outcome)
// or when the run could not start; a cancelled run also returns ctx.Err().
//
// How it works:
//
//   - The first look at the ledger is one query (LEFT JOIN of companies and
//     public.tenant_fleet, run in one message after LOCK TABLE
//     public.companies IN SHARE MODE, so that it waits — up to 2 s — for
//     provisionings in flight). "Nothing to do" costs that message whatever
//     the fleet size.
//   - With work to do, the run takes the fleet lock — a session advisory lock
//     on a dedicated connection, held until the run ends — or returns
//     ErrFleetBusy, or waits (o.Wait). Under the lock it looks again, then
//     migrates the tenants with bounded parallelism (tenancy.RunFleet),
//     continuing past failures.
//   - Each tenant migrates in one transaction holding its own advisory lock
//     (pg_advisory_xact_lock): its pending migrations, their records in its
//     schemata_migrations and its ledger row commit together, so even runners
//     that bypass the fleet lock never run a tenant twice, and a cancelled run
//     leaves every tenant at its old or its new version. A failed tenant is
//     rolled back and then marked failed with its error. A tenant with one
//     pending migration costs one message (see migrateFast).
//   - Tenant transactions commit asynchronously (synchronous_commit off) and
//     the run ends with one synchronous commit, so that the migrations it
//     reports are durable when it returns; a server crash during the run may
//     undo the last tenants' commits, each entirely (see asyncCommit).
//   - After each pass the run looks again (tenants that failed in this run
//     excepted), so tenants created during the run by a program with an older
//     migration set end at the latest version too.
//
// The fleet lock needs a real session: run fleet migrations against
// PostgreSQL directly or through a session-mode pooler, not a
// transaction-mode one (the per-tenant locks protect correctness either way).
func (m *TenantMigrator) Run(ctx context.Context, o FleetOptions) (FleetReport, error) {
	set := m.ts.Migrations
	rep := FleetReport{Latest: set.Latest()}
	if rep.Latest == 0 {
		return rep, errors.New("postgres: fleet migration: the tenant schema has no migrations")
	}
	for _, id := range o.Only {
		if !id.Valid() {
			return rep, fmt.Errorf("postgres: fleet migration: invalid company id %d", id)
		}
	}
	parallel := o.Parallel
	if parallel <= 0 {
		parallel = tenancy.DefaultParallelism()
	}
	if pool := m.db.DB.Stats().MaxOpenConnections; pool > 0 && !o.DryRun {
		if pool < 2 {
			return rep, errors.New("postgres: fleet migration needs a pool of at least 2 connections (one holds the fleet lock)")
		}
		parallel = min(parallel, pool-1)
	}

	work, err := m.plan(ctx, o, rep.Latest, nil, !o.DryRun, true)
	if err != nil {
		return rep, err
	}
	if len(work) == 0 {
		rep.NothingToDo = true
		return rep, nil
	}
	if o.DryRun {
		rep.Planned = plans(work, rep.Latest)
		return rep, nil
	}

	lock, err := m.acquireFleetLock(ctx, o.Wait)
	if err != nil {
		return rep, err
	}
	defer lock.release(ctx)

	failed := map[tenancy.CompanyID]bool{}
	for pass := 0; ; pass++ {
		// The first look was taken without the lock: another run may have
		// done the work since. Every pass therefore starts with a fresh look.
		work, err = m.plan(ctx, o, rep.Latest, failed, true, false)
		if err != nil {
			return rep, errors.Join(err, runError(ctx, rep.Results), m.flushDurable(ctx, succeeded(rep.Results)))
		}
		if len(work) == 0 {
			break
		}
		if pass == maxFleetPasses {
			return rep, errors.Join(fmt.Errorf("postgres: fleet migration: %d tenants still behind version %d after %d passes", len(work), rep.Latest, maxFleetPasses),
				runError(ctx, rep.Results), m.flushDurable(ctx, succeeded(rep.Results)))
		}
		p := plans(work, rep.Latest)
		rep.Planned = append(rep.Planned, p...)
		if o.OnPlan != nil {
			o.OnPlan(p)
		}
		byID := make(map[tenancy.CompanyID]tenantWork, len(work))
		ids := make([]tenancy.CompanyID, len(work))
		for i, w := range work {
			byID[w.id], ids[i] = w, w.id
		}
		results := tenancy.RunFleet(ctx, ids, parallel, func(ctx context.Context, id tenancy.CompanyID) error {
			start := time.Now()
			err := m.migrateTenant(ctx, byID[id])
			if o.OnResult != nil {
				o.OnResult(tenancy.Result{Company: id, Err: err, Duration: time.Since(start)})
			}
			return err
		})
		for _, r := range results {
			rep.Results = append(rep.Results, r)
			if r.Err != nil {
				failed[r.Company] = true
			}
		}
		if m.afterPass != nil {
			m.afterPass(pass)
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.NothingToDo = len(rep.Planned) == 0
	return rep, errors.Join(runError(ctx, rep.Results), m.flushDurable(ctx, succeeded(rep.Results)))
}

func succeeded(results []tenancy.Result) []tenancy.CompanyID {
	var ids []tenancy.CompanyID
	for _, r := range results {
		if r.Err == nil {
			ids = append(ids, r.Company)
		}
	}
	return ids
}

// runError summarises a run's results: nil when every tenant succeeded, else
// how many failed (with the first failure), joined with ctx.Err() when the
// run was cancelled.
func runError(ctx context.Context, results []tenancy.Result) error {
	var (
		first          error
		failed, undone int
	)
	for _, r := range results {
		switch {
		case r.Err == nil:
		case ctx.Err() != nil && errors.Is(r.Err, ctx.Err()):
			undone++
		default:
			if first == nil {
				first = fmt.Errorf("company %d: %w", r.Company, r.Err)
			}
			failed++
		}
	}
	var errs []error
	if failed > 0 {
		errs = append(errs, fmt.Errorf("postgres: fleet migration: %d of %d tenants failed (first: %w)", failed, len(results), first))
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("postgres: fleet migration interrupted, %d tenant(s) left at their old version: %w", undone, err))
	}
	return errors.Join(errs...)
}

func plans(work []tenantWork, latest int64) []tenancy.Plan {
	out := make([]tenancy.Plan, len(work))
	for i, w := range work {
		out[i] = tenancy.Plan{CompanyID: w.id, From: w.from, To: latest}
	}
	return out
}

// lookLockPrefix makes a look at the fleet wait for the transactions that
// are creating companies (LOCK TABLE … IN SHARE MODE conflicts with their
// INSERT), for at most lookLockTimeout: while it waits, new company inserts
// queue behind it, so a long transaction holding the table (a large import)
// must not stall signups for long. On timeout the look is taken without
// waiting; a tenant whose creation is still in flight then ends the run at
// the version its creator had, and shows as pending in Status.
const (
	lookLockTimeout = "2s"
	lookLockPrefix  = "SET LOCAL lock_timeout TO '" + lookLockTimeout + "'; LOCK TABLE public.companies IN SHARE MODE; "
)

// sqlstateLockNotAvailable is PostgreSQL's lock_not_available (lock_timeout).
const sqlstateLockNotAvailable = "55P03"

// plan answers "what is there to do" in one query: the companies selected by
// o whose ledger row is missing, behind latest or failed, minus skip. With
// lock, the query first waits for provisioning transactions in flight (see
// lookLockPrefix; same message, same implicit transaction), so that a tenant
// whose creation started before the look is seen by it. With first, an id of
// o.Only without a company row is an error (later looks skip companies
// deleted during the run).
func (m *TenantMigrator) plan(ctx context.Context, o FleetOptions, latest int64, skip map[tenancy.CompanyID]bool, lock, first bool) ([]tenantWork, error) {
	var sb strings.Builder
	sb.WriteString(`SELECT c.id, coalesce(f.version, 0), f.company_id IS NOT NULL, coalesce(f.status, '')
FROM public.companies c LEFT JOIN public.tenant_fleet f ON f.company_id = c.id WHERE `)
	var args []any
	switch {
	case len(o.Only) > 0:
		// Every requested company, so that unknown ids can be told apart.
		ids := make([]int64, len(o.Only))
		for i, id := range o.Only {
			ids[i] = int64(id)
		}
		sb.WriteString("c.id = ANY(?::bigint[])")
		args = append(args, pgdialect.Array(ids))
	case o.OnlyFailed:
		sb.WriteString("f.status = 'failed'")
	default:
		sb.WriteString("(f.company_id IS NULL OR f.version < ? OR f.status = 'failed')")
		args = append(args, latest)
	}
	sb.WriteString(" ORDER BY c.id")
	q := m.db.QueryGen().FormatQuery(sb.String(), args...)
	var (
		rows *sql.Rows
		err  error
	)
	if lock {
		rows, err = m.db.DB.QueryContext(ctx, lookLockPrefix+q)
	}
	if !lock || pgCode(err) == sqlstateLockNotAvailable {
		rows, err = m.db.DB.QueryContext(ctx, q)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: fleet migration: read fleet ledger: %w", err)
	}
	defer rows.Close()
	var (
		work  []tenantWork
		found = map[tenancy.CompanyID]bool{}
	)
	for rows.Next() {
		var (
			raw    int64
			w      tenantWork
			status string
		)
		if err := rows.Scan(&raw, &w.from, &w.recorded, &status); err != nil {
			return nil, fmt.Errorf("postgres: fleet migration: read fleet ledger: %w", err)
		}
		w.id = tenancy.CompanyID(raw)
		found[w.id] = true
		if !w.id.Valid() || skip[w.id] {
			continue
		}
		failed := status == tenancy.StatusFailed
		if o.OnlyFailed && !failed {
			continue
		}
		if w.recorded && !failed && w.from >= latest {
			continue // up to date (only possible with Only)
		}
		work = append(work, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: fleet migration: read fleet ledger: %w", err)
	}
	var unknown []string
	for _, id := range o.Only {
		if first && !found[id] {
			unknown = append(unknown, id.String())
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("postgres: fleet migration: no company with id %s; nothing was run", strings.Join(slices.Compact(unknown), ", "))
	}
	return work, nil
}

// fleetLock is the session-level advisory lock of a fleet run, held on a
// dedicated connection from acquire to release.
type fleetLock struct {
	conn *sql.Conn
}

// fleetLockCall is a call of the advisory-lock function fn on the fleet
// lock's key, e.g. "pg_advisory_lock(1935896948, 2)".
func fleetLockCall(fn string) string {
	return fmt.Sprintf("%s(%d, %d)", fn, publicLockClass, fleetLockObject)
}

// acquireFleetLock takes the fleet lock, or returns ErrFleetBusy naming the
// holder (wait false), or waits for it (wait true; cancelling ctx cancels the
// wait on the server).
func (m *TenantMigrator) acquireFleetLock(ctx context.Context, wait bool) (*fleetLock, error) {
	conn, err := m.db.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: fleet lock: acquire connection: %w", err)
	}
	var (
		got bool
		pid int64
	)
	if err := conn.QueryRowContext(ctx, "SELECT "+fleetLockCall("pg_try_advisory_lock")+", pg_backend_pid()").Scan(&got, &pid); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("postgres: fleet lock: %w", err)
	}
	if got {
		return &fleetLock{conn: conn}, nil
	}
	if !wait {
		_ = conn.Close()
		return nil, fmt.Errorf("postgres: %w%s; wait for it to finish (or run with wait)", ErrFleetBusy, m.fleetLockHolder(ctx))
	}
	// pgdriver does not cancel a running statement when ctx is cancelled, so
	// a watcher asks the server to cancel the wait.
	stop, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-stop:
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_, _ = m.db.DB.ExecContext(cctx, fmt.Sprintf("SELECT pg_cancel_backend(%d)", pid))
		}
	}()
	_, err = conn.ExecContext(context.WithoutCancel(ctx), "SELECT "+fleetLockCall("pg_advisory_lock"))
	close(stop)
	<-watched
	if ctx.Err() != nil {
		// Whether or not the lock was granted before the cancel landed, ending
		// the session releases it.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
		return nil, fmt.Errorf("postgres: fleet lock: gave up waiting: %w", ctx.Err())
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("postgres: fleet lock: %w", err)
	}
	return &fleetLock{conn: conn}, nil
}

// fleetLockHolder describes the session holding the fleet lock, "" when it
// cannot tell.
func (m *TenantMigrator) fleetLockHolder(ctx context.Context) string {
	var (
		pid       int64
		app, addr string
		since     sql.NullTime
	)
	err := m.db.DB.QueryRowContext(ctx, fmt.Sprintf(`SELECT l.pid, coalesce(a.application_name, ''),
    coalesce(host(a.client_addr), 'local socket'), a.query_start
FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %d AND l.objid = %d AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
LIMIT 1`, publicLockClass, fleetLockObject)).Scan(&pid, &app, &addr, &since)
	if err != nil {
		return ""
	}
	s := fmt.Sprintf(": held by server process %d (application %q, client %s", pid, app, addr)
	if since.Valid {
		s += ", since " + since.Time.UTC().Format(time.RFC3339)
	}
	return s + ")"
}

// release gives the fleet lock back; a connection on which that fails is
// discarded, which ends the session and so releases the lock too.
func (l *fleetLock) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var ok bool
	if err := l.conn.QueryRowContext(rctx, "SELECT "+fleetLockCall("pg_advisory_unlock")).Scan(&ok); err != nil || !ok {
		_ = l.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = l.conn.Close()
}

// Status returns where every tenant stands, ordered by company id, in one
// query joining public.companies and the fleet ledger.
func (m *TenantMigrator) Status(ctx context.Context) ([]tenancy.TenantStatus, error) {
	latest := m.ts.Migrations.Latest()
	rows, err := m.db.DB.QueryContext(ctx, `SELECT c.id, c.name, f.company_id IS NOT NULL, coalesce(f.version, 0),
    coalesce(f.status, ''), coalesce(f.error, ''), coalesce(f.duration_ms, 0), f.updated_at
FROM public.companies c LEFT JOIN public.tenant_fleet f ON f.company_id = c.id ORDER BY c.id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: fleet status: %w", err)
	}
	defer rows.Close()
	var out []tenancy.TenantStatus
	for rows.Next() {
		var (
			s        tenancy.TenantStatus
			raw, ms  int64
			recorded bool
			status   string
			updated  sql.NullTime
		)
		if err := rows.Scan(&raw, &s.Name, &recorded, &s.Version, &status, &s.Error, &ms, &updated); err != nil {
			return nil, fmt.Errorf("postgres: fleet status: %w", err)
		}
		s.CompanyID, s.Latest = tenancy.CompanyID(raw), latest
		s.Status = tenancy.LedgerStatus(recorded, s.Version, status, latest)
		s.Duration = time.Duration(ms) * time.Millisecond
		if updated.Valid {
			s.UpdatedAt = updated.Time
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: fleet status: %w", err)
	}
	return out, nil
}
