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

var _ ports.TagRepository = (*TagRepository)(nil)

// tagRow is a row of the tenant table tags.
type tagRow struct {
	bun.BaseModel `bun:"table:tags,alias:tg"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Name      string    `bun:"name,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

func (r tagRow) domain() domain.Tag {
	return domain.Tag{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt}
}

// TagRepository stores a tenant's tags. Every method needs a tenant scope in
// ctx (UnitOfWork) and returns ErrNoTenantScope without one. Components
// create the tags they name themselves (ComponentRepository).
type TagRepository struct {
	db *bun.DB
}

// NewTagRepository returns a TagRepository over db.
func NewTagRepository(db *bun.DB) *TagRepository {
	return &TagRepository{db: db}
}

// tagWriteError maps a write error of the tags table. A tag's own name is
// the field "name" here (for a component's tags it is "tags").
func tagWriteError(err error, name string) error {
	if pgCode(err) == sqlstateCheckViolation && constraintName(err) == "tags_name_check" {
		return &domain.Error{Code: domain.CodeInvalid, Field: "name", Message: checkFields["tags_name_check"].thing, Err: err}
	}
	return writeError(err, fmt.Sprintf("a tag named %q already exists", name))
}

// List returns one page of tags in id order.
func (r *TagRepository) List(ctx context.Context, page domain.Page) ([]domain.Tag, error) {
	return listTenantRows[tagRow](ctx, r.db, page)
}

// Get returns tag id; NotFound when absent.
func (r *TagRepository) Get(ctx context.Context, id int64) (domain.Tag, error) {
	return getTenantRow[tagRow](ctx, r.db, "tg.id", id, "tag")
}

// Create inserts t and returns it with its id and creation time; a name
// already used is a Conflict.
func (r *TagRepository) Create(ctx context.Context, t domain.Tag) (domain.Tag, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Tag{}, err
	}
	row := tagRow{Name: t.Name}
	_, err = h.NewInsert().Model(&row).Column("name").Returning("id, created_at").Exec(ctx)
	if err != nil {
		return domain.Tag{}, tagWriteError(err, t.Name)
	}
	return row.domain(), nil
}

// Update renames tag t.ID (the components it labels follow); NotFound when
// absent, Conflict when the name is used by another tag.
func (r *TagRepository) Update(ctx context.Context, t domain.Tag) (domain.Tag, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Tag{}, err
	}
	var row tagRow
	err = h.NewUpdate().
		Model(&row).
		Set("name = ?", t.Name).
		Where("tg.id = ?", t.ID).
		Returning("tg.*").
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Tag{}, domain.NotFound("tag")
	}
	if err != nil {
		return domain.Tag{}, tagWriteError(err, t.Name)
	}
	return row.domain(), nil
}

// Delete removes tag id and detaches it from every component; NotFound when
// absent.
func (r *TagRepository) Delete(ctx context.Context, id int64) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	res, err := h.NewDelete().Model((*tagRow)(nil)).Where("tg.id = ?", id).Exec(ctx)
	if err != nil {
		return mapError(err)
	}
	return requireOneRow(res, "tag")
}
