package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

var _ ports.UserAdmin = (*UserRepository)(nil)

// NewUserAdmin returns the user-management side of the user store
// (ports.UserAdmin). It is the same *UserRepository as NewUserRepository
// returns; every method needs a tenant scope in ctx.
func NewUserAdmin(db *bun.DB) *UserRepository {
	return NewUserRepository(db)
}

// Update saves Name, Role and PasswordHash of u.ID, stamps updated_at and
// returns the stored user; NotFound when the tenant has no such user. The
// email is not changed.
func (r *UserRepository) Update(ctx context.Context, u domain.User) (domain.User, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.User{}, err
	}
	var row userRow
	err = h.NewUpdate().
		Model(&row).
		Set("name = ?", u.Name).
		Set("role = ?", string(u.Role)).
		Set("password_hash = ?", u.PasswordHash).
		Set("updated_at = now()").
		Where("u.id = ?", u.ID).
		Returning("u.*").
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.User{}, domain.NotFound("user")
	}
	if err != nil {
		return domain.User{}, mapError(err)
	}
	return row.domain(), nil
}

// Delete removes user id; its team memberships go with it (ON DELETE
// CASCADE). NotFound when absent. The email lookup row in public is the
// caller's to release, in the same unit of work.
func (r *UserRepository) Delete(ctx context.Context, id int64) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	res, err := h.NewDelete().Model((*userRow)(nil)).Where("u.id = ?", id).Exec(ctx)
	if err != nil {
		return mapError(err)
	}
	return requireOneRow(res, "user")
}

// LockAdmins locks every admin row of the tenant (FOR UPDATE) and returns
// their ids in id order. Call it inside WithinTenant before checking "is this
// the last admin": a concurrent demotion or deletion waits for the commit.
func (r *UserRepository) LockAdmins(ctx context.Context) ([]int64, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return nil, err
	}
	ids := []int64{}
	err = h.NewSelect().
		Model((*userRow)(nil)).
		Column("u.id").
		Where("u.role = ?", string(domain.RoleAdmin)).
		OrderExpr("u.id").
		For("UPDATE").
		Scan(ctx, &ids)
	if err != nil {
		return nil, mapError(err)
	}
	return ids, nil
}
