package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

var _ ports.InvitationRepository = (*InvitationRepository)(nil)

// invitationRow is a row of the tenant table invitations.
type invitationRow struct {
	bun.BaseModel `bun:"table:invitations,alias:i"`

	ID        int64      `bun:"id,pk,autoincrement"`
	Email     string     `bun:"email,notnull"`
	Role      string     `bun:"role,notnull"`
	TokenHash []byte     `bun:"token_hash,notnull"`
	ExpiresAt time.Time  `bun:"expires_at,notnull"`
	UsedAt    *time.Time `bun:"used_at"`
	CreatedBy int64      `bun:"created_by,notnull"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
}

func (r invitationRow) domain() domain.Invitation {
	return domain.Invitation{
		ID:        r.ID,
		Email:     r.Email,
		Role:      domain.Role(r.Role),
		TokenHash: r.TokenHash,
		ExpiresAt: r.ExpiresAt,
		UsedAt:    r.UsedAt,
		CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt,
	}
}

// InvitationRepository stores a tenant's invitations. Every method needs a
// tenant scope in ctx (UnitOfWork) and returns ErrNoTenantScope without one;
// GetByTokenHashForUpdate and MarkUsed belong in one WithinTenant unit of work.
type InvitationRepository struct {
	db *bun.DB
}

// NewInvitationRepository returns an InvitationRepository over db.
func NewInvitationRepository(db *bun.DB) *InvitationRepository {
	return &InvitationRepository{db: db}
}

// Create inserts inv (email lower-cased) and returns it with its id and
// creation time. A token hash already stored is a Conflict.
func (r *InvitationRepository) Create(ctx context.Context, inv domain.Invitation) (domain.Invitation, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Invitation{}, err
	}
	if len(inv.TokenHash) == 0 {
		return domain.Invitation{}, domain.Invalid("token_hash", "token hash is required")
	}
	row := invitationRow{
		Email:     storedEmail(inv.Email),
		Role:      string(inv.Role),
		TokenHash: inv.TokenHash,
		ExpiresAt: inv.ExpiresAt,
		UsedAt:    inv.UsedAt,
		CreatedBy: inv.CreatedBy,
	}
	_, err = h.NewInsert().
		Model(&row).
		Column("email", "role", "token_hash", "expires_at", "used_at", "created_by").
		Returning("id, created_at").
		Exec(ctx)
	if err != nil {
		return domain.Invitation{}, conflictOn(err, sqlstateUniqueViolation, "an invitation with this token already exists")
	}
	return row.domain(), nil
}

// GetByTokenHashForUpdate loads the invitation whose token hashes to hash and
// locks its row (SELECT … FOR UPDATE) until the unit of work ends, so that
// two redemptions of one token serialise. NotFound when absent. It needs a
// WithinTenant scope: a read-only scope cannot lock rows.
func (r *InvitationRepository) GetByTokenHashForUpdate(ctx context.Context, hash []byte) (domain.Invitation, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Invitation{}, err
	}
	if len(hash) == 0 {
		return domain.Invitation{}, domain.NotFound("invitation")
	}
	var row invitationRow
	err = h.NewSelect().Model(&row).Where("i.token_hash = ?", hash).For("UPDATE").Scan(ctx)
	if err != nil {
		return domain.Invitation{}, rowError(err, "invitation")
	}
	return row.domain(), nil
}

// MarkUsed records that invitation id was redeemed at at. NotFound when
// absent; Conflict when it was already used, so an invitation is single-use
// even if a caller skipped the lock.
func (r *InvitationRepository) MarkUsed(ctx context.Context, id int64, at time.Time) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	res, err := h.NewUpdate().
		Model((*invitationRow)(nil)).
		Set("used_at = ?", at).
		Where("i.id = ?", id).
		Where("i.used_at IS NULL").
		Exec(ctx)
	if err != nil {
		return mapError(err)
	}
	if err := requireOneRow(res, "invitation"); err == nil || !domain.IsCode(err, domain.CodeNotFound) {
		return err
	}
	// No unused row: tell an absent invitation from a used one.
	var exists bool
	err = h.NewRaw("SELECT EXISTS (SELECT 1 FROM invitations WHERE id = ?)", id).Scan(ctx, &exists)
	if err != nil {
		return mapError(err)
	}
	if exists {
		return domain.Conflict("invitation already used")
	}
	return domain.NotFound("invitation")
}
