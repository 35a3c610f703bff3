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

var _ ports.ReferenceRepository = (*ReferenceRepository)(nil)

// refRow is a row of one of the tenant reference tables (cloud_providers,
// registry_providers, service_types), which share one shape. The table is
// chosen per query from the kind (refTable); the name in the tag is never a
// real table, so a query that forgot to choose one fails instead of reading
// the wrong kind.
type refRow struct {
	bun.BaseModel `bun:"table:reference_table_not_chosen,alias:r"`

	ID          int64     `bun:"id,pk,autoincrement"`
	Name        string    `bun:"name,notnull"`
	Description string    `bun:"description,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
}

func (r refRow) domain() domain.RefItem {
	return domain.RefItem{
		ID:          r.ID,
		Name:        r.Name,
		Description: r.Description,
		CreatedAt:   r.CreatedAt,
		UpdatedAt:   r.UpdatedAt,
	}
}

// refTable returns the table of kind. The names are constants of this
// function: a table name is never built from input.
func refTable(kind domain.RefKind) (string, error) {
	switch kind {
	case domain.CloudProviders:
		return "cloud_providers", nil
	case domain.RegistryProviders:
		return "registry_providers", nil
	case domain.ServiceTypes:
		return "service_types", nil
	}
	return "", domain.Invalid("kind", "unknown reference data kind %q", string(kind))
}

// ReferenceRepository stores a tenant's reference data, one table per
// domain.RefKind. Every method needs a tenant scope in ctx (UnitOfWork) and
// returns ErrNoTenantScope without one; an unknown kind is Invalid.
type ReferenceRepository struct {
	db *bun.DB
}

// NewReferenceRepository returns a ReferenceRepository over db.
func NewReferenceRepository(db *bun.DB) *ReferenceRepository {
	return &ReferenceRepository{db: db}
}

// refTableExpr is the ModelTableExpr of every reference query: the table of
// the kind, quoted by bun.Ident, aliased r as the refRow model expects.
const refTableExpr = "? AS r"

// scoped returns the tenant handle of ctx and the table of kind.
func (r *ReferenceRepository) scoped(ctx context.Context, kind domain.RefKind) (Handle, bun.Ident, error) {
	table, err := refTable(kind)
	if err != nil {
		return Handle{}, "", err
	}
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return Handle{}, "", err
	}
	return h, bun.Ident(table), nil
}

// List returns one page of kind's items in id order.
func (r *ReferenceRepository) List(ctx context.Context, kind domain.RefKind, page domain.Page) ([]domain.RefItem, error) {
	h, table, err := r.scoped(ctx, kind)
	if err != nil {
		return nil, err
	}
	var rows []refRow
	if err := keyset(h.NewSelect().Model(&rows).ModelTableExpr(refTableExpr, table), page).Scan(ctx); err != nil {
		return nil, mapError(err)
	}
	out := make([]domain.RefItem, len(rows))
	for i, row := range rows {
		out[i] = row.domain()
	}
	return out, nil
}

// Get returns item id of kind; NotFound when absent.
func (r *ReferenceRepository) Get(ctx context.Context, kind domain.RefKind, id int64) (domain.RefItem, error) {
	h, table, err := r.scoped(ctx, kind)
	if err != nil {
		return domain.RefItem{}, err
	}
	var row refRow
	err = h.NewSelect().Model(&row).ModelTableExpr(refTableExpr, table).Where("r.id = ?", id).Scan(ctx)
	if err != nil {
		return domain.RefItem{}, rowError(err, kind.Singular())
	}
	return row.domain(), nil
}

// Create inserts item and returns it with its id and timestamps. A name
// already used by another item of kind, in any case, is a Conflict.
func (r *ReferenceRepository) Create(ctx context.Context, kind domain.RefKind, item domain.RefItem) (domain.RefItem, error) {
	h, table, err := r.scoped(ctx, kind)
	if err != nil {
		return domain.RefItem{}, err
	}
	row := refRow{Name: item.Name, Description: item.Description}
	_, err = h.NewInsert().
		Model(&row).
		ModelTableExpr(refTableExpr, table).
		Column("name", "description").
		Returning("id, created_at, updated_at").
		Exec(ctx)
	if err != nil {
		return domain.RefItem{}, duplicateName(err, kind, item.Name)
	}
	return row.domain(), nil
}

// Update saves Name and Description of item.ID and stamps updated_at;
// NotFound when absent, Conflict when another item of kind has the name.
func (r *ReferenceRepository) Update(ctx context.Context, kind domain.RefKind, item domain.RefItem) (domain.RefItem, error) {
	h, table, err := r.scoped(ctx, kind)
	if err != nil {
		return domain.RefItem{}, err
	}
	var row refRow
	err = h.NewUpdate().
		Model(&row).
		ModelTableExpr(refTableExpr, table).
		Set("name = ?", item.Name).
		Set("description = ?", item.Description).
		Set("updated_at = now()").
		Where("r.id = ?", item.ID).
		Returning("r.id, r.name, r.description, r.created_at, r.updated_at").
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.RefItem{}, domain.NotFound(kind.Singular())
	}
	if err != nil {
		return domain.RefItem{}, duplicateName(err, kind, item.Name)
	}
	return row.domain(), nil
}

// Delete removes item id of kind; NotFound when absent, Conflict while other
// rows still reference it.
func (r *ReferenceRepository) Delete(ctx context.Context, kind domain.RefKind, id int64) error {
	h, table, err := r.scoped(ctx, kind)
	if err != nil {
		return err
	}
	res, err := h.NewDelete().
		Model((*refRow)(nil)).
		ModelTableExpr(refTableExpr, table).
		Where("r.id = ?", id).
		Exec(ctx)
	if err != nil {
		return conflictOn(err, sqlstateForeignKeyViolation, "the "+kind.Singular()+" is still in use")
	}
	return requireOneRow(res, kind.Singular())
}

// duplicateName maps a unique violation on a reference table to a Conflict
// naming the kind and the name; other errors go through mapError.
func duplicateName(err error, kind domain.RefKind, name string) error {
	if pgCode(err) == sqlstateUniqueViolation {
		return &domain.Error{
			Code:    domain.CodeConflict,
			Message: fmt.Sprintf("a %s named %q already exists", kind.Singular(), name),
			Err:     err,
		}
	}
	return mapError(err)
}
