package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

var _ ports.EnvironmentRepository = (*EnvironmentRepository)(nil)

// environmentRow is a row of the tenant table environments.
type environmentRow struct {
	bun.BaseModel `bun:"table:environments,alias:e"`

	ID              int64     `bun:"id,pk,autoincrement"`
	Name            string    `bun:"name,notnull"`
	Category        string    `bun:"category,notnull"`
	CloudProviderID int64     `bun:"cloud_provider_id,notnull"`
	Region          string    `bun:"region,notnull"`
	CreatedAt       time.Time `bun:"created_at,notnull"`
	UpdatedAt       time.Time `bun:"updated_at,notnull"`
}

func (r environmentRow) domain() domain.Environment {
	return domain.Environment{
		ID:              r.ID,
		Name:            r.Name,
		Category:        domain.EnvCategory(r.Category),
		CloudProviderID: r.CloudProviderID,
		Region:          r.Region,
		CreatedAt:       r.CreatedAt,
		UpdatedAt:       r.UpdatedAt,
	}
}

// EnvironmentRepository stores a tenant's environments. Every method needs a
// tenant scope in ctx (UnitOfWork) and returns ErrNoTenantScope without one.
type EnvironmentRepository struct {
	db *bun.DB
}

// NewEnvironmentRepository returns an EnvironmentRepository over db.
func NewEnvironmentRepository(db *bun.DB) *EnvironmentRepository {
	return &EnvironmentRepository{db: db}
}

func environmentNameTaken(name string) string {
	return fmt.Sprintf("an environment named %q already exists", name)
}

// List returns one page of environments in id order.
func (r *EnvironmentRepository) List(ctx context.Context, page domain.Page) ([]domain.Environment, error) {
	return listTenantRows[environmentRow](ctx, r.db, page)
}

// Get returns environment id; NotFound when absent.
func (r *EnvironmentRepository) Get(ctx context.Context, id int64) (domain.Environment, error) {
	return getTenantRow[environmentRow](ctx, r.db, "e.id", id, "environment")
}

// Create inserts e and returns it with its id and timestamps. A name already
// used, in any case, is a Conflict; an absent cloud provider is
// Invalid("cloud_provider_id").
func (r *EnvironmentRepository) Create(ctx context.Context, e domain.Environment) (domain.Environment, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Environment{}, err
	}
	row := environmentRow{Name: e.Name, Category: string(e.Category), CloudProviderID: e.CloudProviderID, Region: e.Region}
	_, err = h.NewInsert().
		Model(&row).
		Column("name", "category", "cloud_provider_id", "region").
		Returning("id, created_at, updated_at").
		Exec(ctx)
	if err != nil {
		return domain.Environment{}, writeError(err, environmentNameTaken(e.Name))
	}
	return row.domain(), nil
}

// Update saves every field of e.ID and stamps updated_at; NotFound when
// absent, otherwise as Create.
func (r *EnvironmentRepository) Update(ctx context.Context, e domain.Environment) (domain.Environment, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Environment{}, err
	}
	var row environmentRow
	err = h.NewUpdate().
		Model(&row).
		Set("name = ?", e.Name).
		Set("category = ?", string(e.Category)).
		Set("cloud_provider_id = ?", e.CloudProviderID).
		Set("region = ?", e.Region).
		Set("updated_at = now()").
		Where("e.id = ?", e.ID).
		Returning("e.*").
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Environment{}, domain.NotFound("environment")
	}
	if err != nil {
		return domain.Environment{}, writeError(err, environmentNameTaken(e.Name))
	}
	return row.domain(), nil
}

// Delete removes environment id; NotFound when absent, Conflict while
// deployments reference it.
func (r *EnvironmentRepository) Delete(ctx context.Context, id int64) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	res, err := h.NewDelete().Model((*environmentRow)(nil)).Where("e.id = ?", id).Exec(ctx)
	if err != nil {
		return deleteError(err, "environment has deployments")
	}
	return requireOneRow(res, "environment")
}
