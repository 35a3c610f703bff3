package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/tenancy"
)

// publicLockClass and publicLockObject key the advisory lock that serialises
// public migrations. They use PostgreSQL's two-int4 advisory key space, which
// never overlaps the single-bigint key space of the per-tenant locks
// (tenantLockKey).
const (
	publicLockClass  = 0x73636D74 // "scmt"
	publicLockObject = 1
)

// publicLedgerDDL creates the record of applied public migrations.
const publicLedgerDDL = `CREATE TABLE IF NOT EXISTS public.schemata_public_migrations (
    version    bigint      PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// MigratePublic applies the public migration set in fsys (NNNN_name.sql
// files, every name schema-qualified: connections run with search_path
// pg_catalog) and records each one in public.schemata_public_migrations.
//
// Each migration commits together with its record in its own transaction,
// which first takes a transaction-scoped advisory lock, so concurrent runners
// (two processes starting at once) apply every migration exactly once. A
// second run does nothing. A database that records a version the set does not
// know (a newer binary migrated it), or lacks a version below the newest
// recorded one, is refused.
func MigratePublic(ctx context.Context, db *bun.DB, fsys fs.FS) error {
	set, err := tenancy.LoadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("postgres: public migrations: %w", err)
	}
	if len(set) == 0 {
		return errors.New("postgres: public migrations: the set is empty")
	}
	for {
		var applied *tenancy.Migration
		err := runWrite(ctx, db, 0, func(ctx context.Context) error {
			s := scopeFrom(ctx)
			if _, err := s.ExecContext(ctx, fmt.Sprintf("SELECT pg_advisory_xact_lock(%d, %d); %s",
				publicLockClass, publicLockObject, publicLedgerDDL)); err != nil {
				return fmt.Errorf("postgres: public migrations: lock and ledger: %w", err)
			}
			recorded, err := recordedPublicVersions(ctx, s)
			if err != nil {
				return err
			}
			next, err := nextPublicMigration(set, recorded)
			if err != nil || next == nil {
				return err
			}
			if _, err := s.ExecContext(ctx, next.SQL); err != nil {
				return fmt.Errorf("postgres: public migration %s: %w", migrationLabel(*next), err)
			}
			if _, err := s.ExecContext(ctx,
				"INSERT INTO public.schemata_public_migrations (version, name) VALUES ($1, $2)",
				next.Version, next.Name); err != nil {
				return fmt.Errorf("postgres: public migration %s: record: %w", migrationLabel(*next), err)
			}
			applied = next
			return nil
		})
		if err != nil {
			return err
		}
		if applied == nil {
			return nil
		}
	}
}

func recordedPublicVersions(ctx context.Context, s *scope) (map[int64]bool, error) {
	rows, err := s.QueryContext(ctx, "SELECT version FROM public.schemata_public_migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: public migrations: read ledger: %w", err)
	}
	defer rows.Close()
	recorded := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("postgres: public migrations: read ledger: %w", err)
		}
		recorded[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: public migrations: read ledger: %w", err)
	}
	return recorded, nil
}

// nextPublicMigration returns the first migration of set not yet recorded, nil
// when all are, and an error when the recorded versions and the set disagree.
func nextPublicMigration(set tenancy.MigrationSet, recorded map[int64]bool) (*tenancy.Migration, error) {
	known := make(map[int64]bool, len(set))
	for _, m := range set {
		known[m.Version] = true
	}
	var maxRecorded int64
	for v := range recorded {
		if !known[v] {
			if v > set.Latest() {
				return nil, fmt.Errorf("postgres: public migrations: the database is at version %d, newer than this program knows (latest %d); run a newer release", v, set.Latest())
			}
			return nil, fmt.Errorf("postgres: public migrations: the database records version %d, which this program does not have", v)
		}
		maxRecorded = max(maxRecorded, v)
	}
	for i := range set {
		m := &set[i]
		if recorded[m.Version] {
			continue
		}
		if m.Version < maxRecorded {
			return nil, fmt.Errorf("postgres: public migration %s is not applied but the newer version %d is; refusing to apply it out of order", migrationLabel(*m), maxRecorded)
		}
		return m, nil
	}
	return nil, nil
}

// migrationLabel names a migration as its file does: 0001_init.
func migrationLabel(m tenancy.Migration) string {
	return fmt.Sprintf("%04d_%s", m.Version, m.Name)
}
