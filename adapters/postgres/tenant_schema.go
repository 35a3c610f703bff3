package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// Seed fills a freshly created tenant schema inside the provisioning
// transaction (search_path = the new schema). Its statements must go through
// h (h.NewInsert, h.NewRaw, …) to join that transaction.
type Seed func(ctx context.Context, h Handle) error

// TenantSchema is what an embedding service hands the machinery: its tenant
// migration set and seed.
//
// Tenant migrations are written unqualified (they run under
// SET LOCAL search_path TO "company_<id>") and must not contain transaction
// control (BEGIN, COMMIT) or session-level settings (SET without LOCAL,
// set_config(…, false)): each runs inside the machinery's transaction on a
// pooled connection. The bookkeeping table schemata_migrations in every tenant
// schema belongs to the machinery, not to the set.
type TenantSchema struct {
	Migrations tenancy.MigrationSet
	Seed       Seed
}

// LoadTenantSchema reads the tenant migration set from fsys (NNNN_name.sql
// files, see tenancy.LoadMigrations) and pairs it with seed, which may be nil.
// An empty set is an error: a tenant schema needs at least one migration.
func LoadTenantSchema(fsys fs.FS, seed Seed) (TenantSchema, error) {
	set, err := tenancy.LoadMigrations(fsys)
	if err != nil {
		return TenantSchema{}, fmt.Errorf("postgres: tenant migrations: %w", err)
	}
	if len(set) == 0 {
		return TenantSchema{}, errors.New("postgres: tenant migrations: the set is empty")
	}
	return TenantSchema{Migrations: set, Seed: seed}, nil
}

// tenantLedgerDDL creates a tenant schema's own migration record. It runs
// right after CREATE SCHEMA, under the tenant's search_path.
const tenantLedgerDDL = `CREATE TABLE schemata_migrations (
    version    bigint      PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// migrationMessage is one tenant migration followed by its record, sent as a
// single simple-protocol message so that the pair costs one round trip. The
// migration SQL is sent verbatim (no placeholder processing, so "$1" or "?"
// inside a function body is safe); the record is formatted by bun.
func migrationMessage(db *bun.DB, m tenancy.Migration) string {
	record := db.QueryGen().FormatQuery(
		"INSERT INTO schemata_migrations (version, name) VALUES (?, ?)", m.Version, m.Name)
	// The newline ends a trailing "-- comment"; the semicolon a statement
	// without one.
	return m.SQL + "\n;\n" + record
}

// tenantLockKey is the key of the transaction-scoped advisory lock that
// serialises work on one tenant's schema (the fleet migrator, Delete). It
// lives in PostgreSQL's single-bigint key space, disjoint from the two-int4
// space of the public migration lock, and is a 64-bit FNV-1a hash of a
// namespaced name so that it is unlikely to meet an embedder's own keys; a
// collision would only serialise two tenants, never break correctness.
func tenantLockKey(id tenancy.CompanyID) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("schemata/tenant/" + id.String()))
	return int64(h.Sum64())
}

func tenantLockSQL(id tenancy.CompanyID) string {
	return "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(tenantLockKey(id), 10) + ")"
}

// ReferenceSeed is Schemata's own seed: domain.DefaultReferenceData into
// cloud_providers, registry_providers and service_types, in that order and in
// list order so that ids are 1..n, in one round trip.
func ReferenceSeed(ctx context.Context, h Handle) error {
	var (
		sb   strings.Builder
		args []any
	)
	for _, kind := range []domain.RefKind{domain.CloudProviders, domain.RegistryProviders, domain.ServiceTypes} {
		names := domain.DefaultReferenceData[kind]
		if len(names) == 0 {
			continue
		}
		// kind is one of the three constants of domain, never input.
		sb.WriteString("INSERT INTO " + string(kind) + " (name) VALUES ")
		for i, name := range names {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?)")
			args = append(args, name)
		}
		sb.WriteString(";\n")
	}
	if _, err := h.NewRaw(sb.String(), args...).Exec(ctx); err != nil {
		return fmt.Errorf("reference seed: %w", err)
	}
	return nil
}
