package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

var _ ports.Provisioner = (*Provisioner)(nil)

// Provisioner creates and drops tenants, each in one transaction: the company
// row, the schema, every tenant migration with its record, the fleet ledger
// row and the seed commit together or not at all (PostgreSQL DDL is
// transactional).
type Provisioner struct {
	db *bun.DB
	ts TenantSchema

	// failAfter, when set (tests only), is called after each provisioning
	// step ("company_row", "create_schema", "migration:<version>", "seed");
	// an error aborts the transaction as a real failure there would.
	failAfter func(step string) error
}

// NewProvisioner returns a provisioner that creates tenants with ts.
func NewProvisioner(db *bun.DB, ts TenantSchema) *Provisioner {
	return &Provisioner{db: db, ts: ts}
}

func (p *Provisioner) step(name string) error {
	if p.failAfter == nil {
		return nil
	}
	return p.failAfter(name)
}

// Create provisions a company named name in one transaction:
//
//  1. INSERT INTO public.companies, returning the new id;
//  2. CREATE SCHEMA "company_<id>" and its schemata_migrations table;
//  3. every tenant migration, each in one message with its record;
//  4. the public.tenant_fleet ledger row at the latest version;
//  5. the seed, if any, with search_path = the new schema;
//  6. within, if not nil, with a ctx carrying the transaction scoped to the
//     new tenant, so repositories join it (e.g. to create the first admin).
//
// Nothing is left behind when any step fails or ctx is cancelled. The first
// statement carries BEGIN, so the whole costs 4 + len(migrations) round trips
// plus whatever seed and within send.
func (p *Provisioner) Create(ctx context.Context, name string, within func(ctx context.Context, id tenancy.CompanyID) error) (domain.Company, error) {
	name, err := domain.ValidateName("name", name)
	if err != nil {
		return domain.Company{}, err
	}
	if len(p.ts.Migrations) == 0 {
		return domain.Company{}, errors.New("postgres: create company: the tenant schema has no migrations")
	}
	s, err := newWriteScope(ctx, p.db, 0)
	if err != nil {
		return domain.Company{}, err
	}
	var company domain.Company
	err = runScope(ctx, s, func(ctx context.Context) error {
		var (
			rawID   int64
			created time.Time
		)
		if err := s.QueryRowContext(ctx,
			"INSERT INTO public.companies (name) VALUES ($1) RETURNING id, created_at", name,
		).Scan(&rawID, &created); err != nil {
			return fmt.Errorf("postgres: create company: insert company row: %w", mapError(err))
		}
		id := tenancy.CompanyID(rawID)
		if !id.Valid() { // unreachable with an identity column; never let it near SQL
			return fmt.Errorf("postgres: create company: database returned invalid id %d", rawID)
		}
		company = domain.Company{ID: rawID, Name: name, CreatedAt: created}
		if err := p.step("company_row"); err != nil {
			return err
		}
		if err := p.provisionSchema(ctx, s, id); err != nil {
			return fmt.Errorf("postgres: create company %d: %w", id, err)
		}
		if within != nil {
			return within(ctx, id)
		}
		return nil
	})
	if err != nil {
		return domain.Company{}, err
	}
	return company, nil
}

// provisionSchema runs steps 2–5 of Create in the scope s, which has a
// company row but no tenant yet.
func (p *Provisioner) provisionSchema(ctx context.Context, s *scope, id tenancy.CompanyID) error {
	s.enterTenant(id)
	// The schema name is derived from a valid id and quoted (see setSearchPath).
	if _, err := s.ExecContext(ctx, `CREATE SCHEMA "`+id.Schema()+`"; `+tenantLedgerDDL); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if err := p.step("create_schema"); err != nil {
		return err
	}
	for _, m := range p.ts.Migrations {
		if _, err := s.ExecContext(ctx, migrationMessage(p.db, m)); err != nil {
			return fmt.Errorf("migration %s: %w", migrationLabel(m), err)
		}
		if err := p.step("migration:" + strconv.FormatInt(m.Version, 10)); err != nil {
			return err
		}
	}
	if _, err := s.ExecContext(ctx,
		"INSERT INTO public.tenant_fleet (company_id, version, status) VALUES ($1, $2, 'ok')",
		int64(id), p.ts.Migrations.Latest()); err != nil {
		return fmt.Errorf("fleet ledger row: %w", err)
	}
	if p.ts.Seed != nil {
		if err := p.ts.Seed(ctx, Handle{DB: p.db, Conn: s}); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if err := p.step("seed"); err != nil {
			return err
		}
	}
	return nil
}

// Delete drops company id in one transaction: it locks the company row (and
// the tenant's migration lock, so no fleet run is half-way through it), runs
// guard scoped to the tenant (an error aborts and is returned as is; the app
// refuses while users exist), then drops the schema and deletes the company
// row, whose email lookup and ledger rows cascade. An absent company is a
// domain NotFound.
func (p *Provisioner) Delete(ctx context.Context, id tenancy.CompanyID, guard func(ctx context.Context) error) error {
	if !id.Valid() {
		return domain.NotFound("company")
	}
	return runWrite(ctx, p.db, 0, func(ctx context.Context) error {
		s := scopeFrom(ctx)
		var locked int64
		err := s.QueryRowContext(ctx,
			"SELECT id FROM public.companies WHERE id = $1 FOR UPDATE", int64(id)).Scan(&locked)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NotFound("company")
		}
		if err != nil {
			return fmt.Errorf("postgres: delete company %d: lock company row: %w", id, mapError(err))
		}
		s.enterTenant(id)
		if _, err := s.ExecContext(ctx, tenantLockSQL(id)); err != nil {
			return fmt.Errorf("postgres: delete company %d: tenant lock: %w", id, err)
		}
		if guard != nil {
			if err := guard(ctx); err != nil {
				return err
			}
		}
		if _, err := s.ExecContext(ctx, `DROP SCHEMA IF EXISTS "`+id.Schema()+`" CASCADE; `+
			"DELETE FROM public.companies WHERE id = "+id.String()); err != nil {
			return fmt.Errorf("postgres: delete company %d: %w", id, mapError(err))
		}
		return nil
	})
}
