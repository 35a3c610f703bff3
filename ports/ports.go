// Package ports declares the interfaces the application needs from the outside
// world: repositories, the tenant unit of work, the provisioner, the tenant
// directory, password hashing, tokens, the clock, the audit log and the login
// limiter. It is owned by app (the consumer); adapters implement it. It
// imports domain and tenancy only. portsmock holds moq fakes of every port.
package ports

//go:generate go tool moq -rm -out portsmock/ports_mock.go -pkg portsmock . UnitOfWork Provisioner TenantDirectory CompanyRepository UserRepository EmailLookup ReferenceRepository InvitationRepository AuditLog PasswordHasher TokenIssuer Clock LoginLimiter Pinger FleetStatus UserAdmin TeamRepository ComponentRepository TagRepository EnvironmentRepository VersionRepository DeploymentRepository ActivityLog

import (
	"context"
	"time"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// UnitOfWork scopes work to one tenant. The ctx passed to fn carries the scope;
// tenant repositories take it from there and fail closed (an error, never a
// read of public or of another tenant) when it is missing.
type UnitOfWork interface {
	// WithinTenant runs fn in one transaction whose search_path is the tenant's
	// schema only. It commits when fn returns nil and rolls back otherwise.
	// Public tables used inside fn (the email lookup, the audit log) join the
	// same transaction.
	WithinTenant(ctx context.Context, id tenancy.CompanyID, fn func(ctx context.Context) error) error
	// ReadTenant runs fn with a read-only tenant scope in which every statement
	// is its own read-only transaction scoped to the tenant (one round trip
	// each). Statements see no common snapshot; use WithinTenant for that.
	ReadTenant(ctx context.Context, id tenancy.CompanyID, fn func(ctx context.Context) error) error
}

// Provisioner creates and drops tenants atomically.
type Provisioner interface {
	// Create inserts the company row, creates its schema, applies every tenant
	// migration with its record, seeds it, then runs within (if not nil) scoped
	// to the new tenant — all in one transaction, committed together or not at
	// all.
	Create(ctx context.Context, name string, within func(ctx context.Context, id tenancy.CompanyID) error) (domain.Company, error)
	// Delete locks the company, runs guard scoped to the tenant (an error
	// aborts), then drops the schema and the row together. Absent: NotFound.
	Delete(ctx context.Context, id tenancy.CompanyID, guard func(ctx context.Context) error) error
}

// TenantDirectory answers whether a company exists, cached.
type TenantDirectory interface {
	Exists(ctx context.Context, id tenancy.CompanyID) (bool, error)
	Invalidate(ctx context.Context, id tenancy.CompanyID)
}

// CompanyRepository reads public.companies.
type CompanyRepository interface {
	Get(ctx context.Context, id tenancy.CompanyID) (domain.Company, error)
	List(ctx context.Context, page domain.Page) ([]domain.Company, error)
}

// UserRepository stores a tenant's users. It needs a tenant scope.
type UserRepository interface {
	// Create inserts u; a duplicate email (case-insensitive) is a Conflict.
	Create(ctx context.Context, u domain.User) (domain.User, error)
	Get(ctx context.Context, id int64) (domain.User, error)
	GetByEmail(ctx context.Context, email string) (domain.User, error)
	List(ctx context.Context, page domain.Page) ([]domain.User, error)
	Count(ctx context.Context) (int64, error)
}

// EmailLookup is public.user_company_lookup: which company an email belongs
// to. Emails are unique across all companies.
type EmailLookup interface {
	// Claim records email → company; an existing email is a Conflict.
	Claim(ctx context.Context, email string, company tenancy.CompanyID) error
	// Find returns the company of email, NotFound when unknown.
	Find(ctx context.Context, email string) (tenancy.CompanyID, error)
	// Release removes email (used when a user is deleted).
	Release(ctx context.Context, email string) error
}

// ReferenceRepository stores a tenant's reference data (one table per kind).
type ReferenceRepository interface {
	List(ctx context.Context, kind domain.RefKind, page domain.Page) ([]domain.RefItem, error)
	Get(ctx context.Context, kind domain.RefKind, id int64) (domain.RefItem, error)
	// Create inserts item; a duplicate name (case-insensitive) is a Conflict.
	Create(ctx context.Context, kind domain.RefKind, item domain.RefItem) (domain.RefItem, error)
	// Update saves Name and Description of item.ID; NotFound or Conflict.
	Update(ctx context.Context, kind domain.RefKind, item domain.RefItem) (domain.RefItem, error)
	// Delete removes id; NotFound when absent, Conflict while referenced.
	Delete(ctx context.Context, kind domain.RefKind, id int64) error
}

// InvitationRepository stores a tenant's invitations.
type InvitationRepository interface {
	Create(ctx context.Context, inv domain.Invitation) (domain.Invitation, error)
	// GetByTokenHashForUpdate loads and locks the invitation (NotFound when absent).
	GetByTokenHashForUpdate(ctx context.Context, hash []byte) (domain.Invitation, error)
	MarkUsed(ctx context.Context, id int64, at time.Time) error
}

// AuditLog appends security events. Inside a unit of work the event commits or
// rolls back with it.
type AuditLog interface {
	Record(ctx context.Context, e domain.AuditEvent) error
}

// PasswordHasher hashes and verifies passwords (argon2id PHC strings).
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify compares password with phc. A malformed phc is an error.
	Verify(ctx context.Context, password, phc string) (bool, error)
}

// Claims are what a verified access token asserts.
type Claims struct {
	UserID    int64
	CompanyID tenancy.CompanyID
	Role      domain.Role
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// TokenIssuer issues and verifies access tokens.
type TokenIssuer interface {
	Issue(ctx context.Context, c Claims) (token string, expiresIn time.Duration, err error)
	// Verify checks signature, algorithm, type, issuer, audience and times;
	// any failure is an Unauthenticated domain error.
	Verify(ctx context.Context, token string) (Claims, error)
}

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// LoginLimiter rate-limits failed logins per account key.
type LoginLimiter interface {
	// Allow reports whether a login attempt for key may proceed now.
	Allow(ctx context.Context, key string) bool
	// Failed records a failed attempt for key.
	Failed(ctx context.Context, key string)
	// Succeeded clears key's failures.
	Succeeded(ctx context.Context, key string)
	// RetryAfter is how long key must wait until Allow reports true (0 now).
	RetryAfter(ctx context.Context, key string) time.Duration
}

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// FleetStatus reports where every tenant stands in the migration ledger.
type FleetStatus interface {
	Status(ctx context.Context) ([]tenancy.TenantStatus, error)
}
