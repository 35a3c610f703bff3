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

var _ ports.TeamRepository = (*TeamRepository)(nil)

// teamRow is a row of the tenant table teams.
type teamRow struct {
	bun.BaseModel `bun:"table:teams,alias:t"`

	ID          int64     `bun:"id,pk,autoincrement"`
	Name        string    `bun:"name,notnull"`
	Description string    `bun:"description,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
}

func (r teamRow) domain() domain.Team {
	return domain.Team{
		ID:          r.ID,
		Name:        r.Name,
		Description: r.Description,
		CreatedAt:   r.CreatedAt,
		UpdatedAt:   r.UpdatedAt,
	}
}

// TeamRepository stores a tenant's teams and their members. Every method
// needs a tenant scope in ctx (UnitOfWork) and returns ErrNoTenantScope
// without one.
type TeamRepository struct {
	db *bun.DB
}

// NewTeamRepository returns a TeamRepository over db.
func NewTeamRepository(db *bun.DB) *TeamRepository {
	return &TeamRepository{db: db}
}

func teamNameTaken(name string) string {
	return fmt.Sprintf("a team named %q already exists", name)
}

// List returns one page of teams in id order.
func (r *TeamRepository) List(ctx context.Context, page domain.Page) ([]domain.Team, error) {
	return listTenantRows[teamRow](ctx, r.db, page)
}

// Get returns team id; NotFound when absent.
func (r *TeamRepository) Get(ctx context.Context, id int64) (domain.Team, error) {
	return getTenantRow[teamRow](ctx, r.db, "t.id", id, "team")
}

// Create inserts t and returns it with its id and timestamps. A name already
// used by another team, in any case, is a Conflict.
func (r *TeamRepository) Create(ctx context.Context, t domain.Team) (domain.Team, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Team{}, err
	}
	row := teamRow{Name: t.Name, Description: t.Description}
	_, err = h.NewInsert().
		Model(&row).
		Column("name", "description").
		Returning("id, created_at, updated_at").
		Exec(ctx)
	if err != nil {
		return domain.Team{}, writeError(err, teamNameTaken(t.Name))
	}
	return row.domain(), nil
}

// Update saves Name and Description of t.ID and stamps updated_at; NotFound
// when absent, Conflict when another team has the name.
func (r *TeamRepository) Update(ctx context.Context, t domain.Team) (domain.Team, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Team{}, err
	}
	var row teamRow
	err = h.NewUpdate().
		Model(&row).
		Set("name = ?", t.Name).
		Set("description = ?", t.Description).
		Set("updated_at = now()").
		Where("t.id = ?", t.ID).
		Returning("t.*").
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Team{}, domain.NotFound("team")
	}
	if err != nil {
		return domain.Team{}, writeError(err, teamNameTaken(t.Name))
	}
	return row.domain(), nil
}

// Delete removes team id with its memberships; NotFound when absent, Conflict
// while the team owns components.
func (r *TeamRepository) Delete(ctx context.Context, id int64) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	res, err := h.NewDelete().Model((*teamRow)(nil)).Where("t.id = ?", id).Exec(ctx)
	if err != nil {
		return deleteError(err, "team still owns components")
	}
	return requireOneRow(res, "team")
}

// AddMember makes user userID a member of team teamID; adding a member twice
// is not an error. An absent team is NotFound, an absent user
// Invalid("user_id").
func (r *TeamRepository) AddMember(ctx context.Context, teamID, userID int64) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	_, err = h.NewRaw(`INSERT INTO team_members (team_id, user_id) VALUES (?, ?)
		ON CONFLICT (team_id, user_id) DO NOTHING`, teamID, userID).Exec(ctx)
	if err != nil {
		return writeError(err, "user is already a member of the team")
	}
	return nil
}

// RemoveMember removes user userID from team teamID; NotFound when the user
// is not a member (or the team is absent).
func (r *TeamRepository) RemoveMember(ctx context.Context, teamID, userID int64) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	res, err := h.NewRaw("DELETE FROM team_members WHERE team_id = ? AND user_id = ?", teamID, userID).Exec(ctx)
	if err != nil {
		return mapError(err)
	}
	return requireOneRow(res, "team member")
}

// ListMembers returns one page of the members of team teamID in user id order
// (Page.After is a user id). The users come without their password hash.
// NotFound when the team is absent.
func (r *TeamRepository) ListMembers(ctx context.Context, teamID int64, page domain.Page) ([]domain.User, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return nil, err
	}
	p := page.Clamp()
	var rows []userRow
	err = h.NewSelect().
		Model(&rows).
		Column("id", "name", "email", "role", "created_at", "updated_at").
		Join("JOIN team_members AS tm ON tm.user_id = u.id").
		Where("tm.team_id = ?", teamID).
		Where("u.id > ?", p.After).
		OrderExpr("u.id ASC").
		Limit(int64(p.Limit)).
		Scan(ctx)
	if err != nil {
		return nil, mapError(err)
	}
	if err := listEmpty(ctx, h, len(rows), "teams", teamID, "team"); err != nil {
		return nil, err
	}
	out := make([]domain.User, len(rows))
	for i, row := range rows {
		out[i] = row.domain()
	}
	return out, nil
}
