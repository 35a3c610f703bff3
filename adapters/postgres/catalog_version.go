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

var _ ports.VersionRepository = (*VersionRepository)(nil)

// versionRow is a row of the tenant table versions. Precedence is
// domain.SemVer.PrecedenceKey() of Version.
type versionRow struct {
	bun.BaseModel `bun:"table:versions,alias:v"`

	ID          int64     `bun:"id,pk,autoincrement"`
	ComponentID int64     `bun:"component_id,notnull"`
	Version     string    `bun:"version,notnull"`
	Precedence  []byte    `bun:"precedence,notnull"`
	ImageDigest string    `bun:"image_digest,notnull"`
	GitSHA      string    `bun:"git_sha,notnull"`
	Notes       string    `bun:"notes,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

func (r versionRow) domain() (domain.Version, error) {
	sv, err := domain.ParseSemVer(r.Version)
	if err != nil {
		return domain.Version{}, fmt.Errorf("postgres: stored version %d is not a semantic version: %w", r.ID, err)
	}
	return domain.Version{
		ID:          r.ID,
		ComponentID: r.ComponentID,
		Version:     r.Version,
		SemVer:      sv,
		ImageDigest: r.ImageDigest,
		GitSHA:      r.GitSHA,
		Notes:       r.Notes,
		CreatedAt:   r.CreatedAt,
	}, nil
}

// VersionRepository stores the versions of a tenant's components. Every
// method needs a tenant scope in ctx (UnitOfWork) and returns
// ErrNoTenantScope without one. A version is addressed through its component:
// another component's version is NotFound.
type VersionRepository struct {
	db *bun.DB
}

// NewVersionRepository returns a VersionRepository over db.
func NewVersionRepository(db *bun.DB) *VersionRepository {
	return &VersionRepository{db: db}
}

// List returns one page of componentID's versions, newest first by SemVer
// precedence (Page.After is the id of the last version seen); NotFound when
// the component is absent.
func (r *VersionRepository) List(ctx context.Context, componentID int64, page domain.Page) ([]domain.Version, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return nil, err
	}
	p := page.Clamp()
	var rows []versionRow
	q := h.NewSelect().Model(&rows).Where("v.component_id = ?", componentID)
	if p.After > 0 {
		// The sort key of the last version seen; none (deleted meanwhile, or
		// not this component's) ends the list.
		q = q.Where(`(v.precedence, v.id) < (SELECT a.precedence, a.id FROM versions AS a
			WHERE a.id = ? AND a.component_id = ?)`, p.After, componentID)
	}
	err = q.OrderExpr("v.precedence DESC, v.id DESC").Limit(int64(p.Limit)).Scan(ctx)
	if err != nil {
		return nil, mapError(err)
	}
	if err := listEmpty(ctx, h, len(rows), "components", componentID, "component"); err != nil {
		return nil, err
	}
	out := make([]domain.Version, len(rows))
	for i, row := range rows {
		if out[i], err = row.domain(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Get returns version id of componentID; NotFound when absent or another
// component's.
func (r *VersionRepository) Get(ctx context.Context, componentID, id int64) (domain.Version, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Version{}, err
	}
	var row versionRow
	err = h.NewSelect().Model(&row).Where("v.id = ?", id).Where("v.component_id = ?", componentID).Scan(ctx)
	if err != nil {
		return domain.Version{}, rowError(err, "version")
	}
	return row.domain()
}

// Create inserts v for v.ComponentID and returns it as stored. The version
// string is parsed again here, and its precedence key stored: a version of
// equal precedence (build metadata ignored) is a Conflict. An absent
// component is NotFound.
func (r *VersionRepository) Create(ctx context.Context, v domain.Version) (domain.Version, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Version{}, err
	}
	sv, err := domain.ParseSemVer(v.Version)
	if err != nil {
		return domain.Version{}, err
	}
	row := versionRow{
		ComponentID: v.ComponentID,
		Version:     v.Version,
		Precedence:  sv.PrecedenceKey(),
		ImageDigest: v.ImageDigest,
		GitSHA:      v.GitSHA,
		Notes:       v.Notes,
	}
	_, err = h.NewInsert().
		Model(&row).
		Column("component_id", "version", "precedence", "image_digest", "git_sha", "notes").
		Returning("id, created_at").
		Exec(ctx)
	if err != nil {
		return domain.Version{}, writeError(err, fmt.Sprintf(
			"version %q has the same precedence as an existing version of the component (build metadata is ignored)", v.Version))
	}
	return row.domain()
}

// UpdateNotes replaces the notes of version id of componentID — the only
// field of a version that may change — and returns the version; NotFound when
// absent or another component's.
func (r *VersionRepository) UpdateNotes(ctx context.Context, componentID, id int64, notes string) (domain.Version, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Version{}, err
	}
	var row versionRow
	err = h.NewUpdate().
		Model(&row).
		Set("notes = ?", notes).
		Where("v.id = ?", id).
		Where("v.component_id = ?", componentID).
		Returning("v.*").
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Version{}, domain.NotFound("version")
	}
	if err != nil {
		return domain.Version{}, writeError(err, "a version with the same precedence already exists")
	}
	return row.domain()
}

// Delete removes version id of componentID; NotFound when absent or another
// component's, Conflict while deployments reference it.
func (r *VersionRepository) Delete(ctx context.Context, componentID, id int64) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	res, err := h.NewDelete().
		Model((*versionRow)(nil)).
		Where("v.id = ?", id).
		Where("v.component_id = ?", componentID).
		Exec(ctx)
	if err != nil {
		return deleteError(err, "version is referenced by deployments")
	}
	return requireOneRow(res, "version")
}
