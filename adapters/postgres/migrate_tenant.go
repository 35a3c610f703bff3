package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/tenancy"
)

// maxFleetPasses bounds how often MigrateAll re-checks for work that appeared
// during a pass (tenants created by an older binary while the rollout ran).
const maxFleetPasses = 5

// maxLedgerError bounds the error text stored in the ledger.
const maxLedgerError = 2000

// TenantMigrator brings every tenant schema to the latest version of a tenant
// migration set, using public.tenant_fleet as the ledger of where each tenant
// stands.
type TenantMigrator struct {
	db *bun.DB
	ts TenantSchema

	// afterPass, when set (tests only), is called after each fleet pass.
	afterPass func(pass int)
}

// NewTenantMigrator returns a migrator for the tenant migration set of ts.
func NewTenantMigrator(db *bun.DB, ts TenantSchema) *TenantMigrator {
	return &TenantMigrator{db: db, ts: ts}
}

// MigrateAll migrates every tenant that is behind the latest version, or whose
// last run failed, with at most parallel tenants at once (<= 0: the tenancy
// default). "Nothing to do" costs one query. Each tenant runs in one
// transaction holding its advisory lock: the pending migrations with their
// records and the ledger update commit together. A failed tenant is rolled
// back, recorded as failed in the ledger, and does not stop the others. After
// a pass the query runs again so that tenants created meanwhile are caught.
//
// It returns one result per tenant attempted, and an error when any failed.
func (m *TenantMigrator) MigrateAll(ctx context.Context, parallel int) ([]tenancy.Result, error) {
	latest := m.ts.Migrations.Latest()
	if latest == 0 {
		return nil, errors.New("postgres: migrate tenants: the tenant schema has no migrations")
	}
	var (
		results []tenancy.Result
		failed  = map[tenancy.CompanyID]bool{}
	)
	for pass := 0; ; pass++ {
		ids, err := m.behind(ctx, latest, failed)
		if err != nil {
			return results, err
		}
		if len(ids) == 0 {
			break
		}
		if pass == maxFleetPasses {
			return results, fmt.Errorf("postgres: migrate tenants: %d tenants still behind version %d after %d passes", len(ids), latest, maxFleetPasses)
		}
		for _, r := range tenancy.RunFleet(ctx, ids, parallel, m.migrateTenant) {
			results = append(results, r)
			if r.Err != nil {
				failed[r.Company] = true
			}
		}
		if m.afterPass != nil {
			m.afterPass(pass)
		}
		if err := ctx.Err(); err != nil {
			break
		}
	}
	var first error
	var n int
	for _, r := range results {
		if r.Err != nil {
			if first == nil {
				first = fmt.Errorf("company %d: %w", r.Company, r.Err)
			}
			n++
		}
	}
	if n > 0 {
		return results, fmt.Errorf("postgres: migrate tenants: %d of %d tenants failed (first: %w)", n, len(results), first)
	}
	return results, ctx.Err()
}

// behind answers "what is there to do" in one query: the tenants whose
// ledger version is below latest or whose last run failed, minus those that
// failed earlier in this run.
func (m *TenantMigrator) behind(ctx context.Context, latest int64, skip map[tenancy.CompanyID]bool) ([]tenancy.CompanyID, error) {
	rows, err := m.db.DB.QueryContext(ctx,
		"SELECT company_id FROM public.tenant_fleet WHERE version < $1 OR status = 'failed' ORDER BY company_id", latest)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate tenants: read fleet ledger: %w", err)
	}
	defer rows.Close()
	var ids []tenancy.CompanyID
	for rows.Next() {
		var raw int64
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("postgres: migrate tenants: read fleet ledger: %w", err)
		}
		id := tenancy.CompanyID(raw)
		if id.Valid() && !skip[id] {
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: migrate tenants: read fleet ledger: %w", err)
	}
	return ids, nil
}

// migrateTenant brings one tenant to the latest version in one transaction,
// and records a failure in the ledger after rolling back.
func (m *TenantMigrator) migrateTenant(ctx context.Context, id tenancy.CompanyID) error {
	start := time.Now()
	err := runWrite(ctx, m.db, id, func(ctx context.Context) error {
		return m.migrateInScope(ctx, scopeFrom(ctx), id, start)
	})
	if err == nil {
		return nil
	}
	// The transaction is gone; record the failure on its own. It must be
	// recorded even when ctx was cancelled.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	msg := err.Error()
	if len(msg) > maxLedgerError {
		msg = strings.ToValidUTF8(msg[:maxLedgerError], "") + "…"
	}
	if _, rerr := m.db.DB.ExecContext(rctx,
		"UPDATE public.tenant_fleet SET status = 'failed', error = $1, duration_ms = $2, updated_at = now() WHERE company_id = $3",
		msg, time.Since(start).Milliseconds(), int64(id)); rerr != nil {
		return errors.Join(err, fmt.Errorf("postgres: record failure in fleet ledger: %w", rerr))
	}
	return err
}

func (m *TenantMigrator) migrateInScope(ctx context.Context, s *scope, id tenancy.CompanyID, start time.Time) error {
	// BEGIN and SET LOCAL ride on this first message. The lock is its own
	// statement so that the reads below take their snapshot after it is held
	// and see whatever a runner that held it before committed.
	if _, err := s.ExecContext(ctx, tenantLockSQL(id)); err != nil {
		return fmt.Errorf("tenant lock: %w", err)
	}
	var exists bool
	if err := s.QueryRowContext(ctx,
		"SELECT EXISTS (SELECT 1 FROM public.companies WHERE id = $1)", int64(id)).Scan(&exists); err != nil {
		return fmt.Errorf("check company: %w", err)
	}
	if !exists {
		return nil // deleted since the ledger was read: nothing to migrate
	}
	var current int64
	if err := s.QueryRowContext(ctx,
		"SELECT coalesce(max(version), 0) FROM schemata_migrations").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	set := m.ts.Migrations
	if current > set.Latest() {
		return fmt.Errorf("schema is at version %d, newer than this program knows (latest %d)", current, set.Latest())
	}
	for _, mig := range set.After(current) {
		if _, err := s.ExecContext(ctx, migrationMessage(m.db, mig)); err != nil {
			return fmt.Errorf("migration %s: %w", migrationLabel(mig), err)
		}
	}
	res, err := s.ExecContext(ctx,
		"UPDATE public.tenant_fleet SET version = $1, status = 'ok', error = '', duration_ms = $2, updated_at = now() WHERE company_id = $3",
		set.Latest(), time.Since(start).Milliseconds(), int64(id))
	if err != nil {
		return fmt.Errorf("update fleet ledger: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n != 1 {
		return fmt.Errorf("update fleet ledger: no ledger row for company %d", id)
	}
	return nil
}
