package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

var _ ports.UserRepository = (*UserRepository)(nil)

// userRow is a row of the tenant table users.
type userRow struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID           int64     `bun:"id,pk,autoincrement"`
	Name         string    `bun:"name,notnull"`
	Email        string    `bun:"email,notnull"`
	PasswordHash string    `bun:"password_hash,notnull"`
	Role         string    `bun:"role,notnull"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
}

func (r userRow) domain() domain.User {
	return domain.User{
		ID:           r.ID,
		Name:         r.Name,
		Email:        r.Email,
		PasswordHash: r.PasswordHash,
		Role:         domain.Role(r.Role),
		CreatedAt:    r.CreatedAt,
		UpdatedAt:    r.UpdatedAt,
	}
}

// UserRepository stores a tenant's users in its users table. Every method
// needs a tenant scope in ctx (UnitOfWork) and returns ErrNoTenantScope
// without one.
type UserRepository struct {
	db *bun.DB
}

// NewUserRepository returns a UserRepository over db.
func NewUserRepository(db *bun.DB) *UserRepository {
	return &UserRepository{db: db}
}

const errEmailRegistered = "email already registered"

// Create inserts u with its email lower-cased and returns it with its id and
// timestamps. An email already registered in the tenant, in any case, is a
// Conflict.
func (r *UserRepository) Create(ctx context.Context, u domain.User) (domain.User, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.User{}, err
	}
	row := userRow{
		Name:         u.Name,
		Email:        storedEmail(u.Email),
		PasswordHash: u.PasswordHash,
		Role:         string(u.Role),
	}
	_, err = h.NewInsert().
		Model(&row).
		Column("name", "email", "password_hash", "role").
		Returning("id, created_at, updated_at").
		Exec(ctx)
	if err != nil {
		return domain.User{}, conflictOn(err, sqlstateUniqueViolation, errEmailRegistered)
	}
	return row.domain(), nil
}

// Get returns user id; NotFound when the tenant has no such user.
func (r *UserRepository) Get(ctx context.Context, id int64) (domain.User, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.User{}, err
	}
	var row userRow
	if err := h.NewSelect().Model(&row).Where("u.id = ?", id).Scan(ctx); err != nil {
		return domain.User{}, rowError(err, "user")
	}
	return row.domain(), nil
}

// GetByEmail returns the user with email, compared case-insensitively;
// NotFound when there is none.
func (r *UserRepository) GetByEmail(ctx context.Context, email string) (domain.User, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.User{}, err
	}
	var row userRow
	// lower(email) matches the unique index users_email_key.
	err = h.NewSelect().Model(&row).Where("lower(u.email) = ?", storedEmail(email)).Scan(ctx)
	if err != nil {
		return domain.User{}, rowError(err, "user")
	}
	return row.domain(), nil
}

// List returns one page of the tenant's users in id order.
func (r *UserRepository) List(ctx context.Context, page domain.Page) ([]domain.User, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return nil, err
	}
	var rows []userRow
	if err := keyset(h.NewSelect().Model(&rows), page).Scan(ctx); err != nil {
		return nil, mapError(err)
	}
	out := make([]domain.User, len(rows))
	for i, row := range rows {
		out[i] = row.domain()
	}
	return out, nil
}

// Count returns the number of users of the tenant.
func (r *UserRepository) Count(ctx context.Context) (int64, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := h.NewRaw("SELECT count(*) FROM users").Scan(ctx, &n); err != nil {
		return 0, mapError(err)
	}
	return n, nil
}
