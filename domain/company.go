package domain

import "time"

// Company is a tenant. Its data lives in its own PostgreSQL schema, named from
// ID only.
type Company struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// Invitation lets the holder of its token register into a company with a
// fixed email and role, once, before it expires. Only a hash of the token is
// stored.
type Invitation struct {
	ID        int64
	Email     string
	Role      Role
	TokenHash []byte
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedBy int64
	CreatedAt time.Time
}

// Usable reports whether the invitation may still be redeemed at now.
func (i Invitation) Usable(now time.Time) bool {
	return i.UsedAt == nil && now.Before(i.ExpiresAt)
}

// AuditEvent is one security-relevant event in the append-only audit log.
type AuditEvent struct {
	ID        int64
	At        time.Time
	CompanyID int64  // 0 when not tied to a company
	Actor     string // "platform-admin", "user:42", "anonymous", an email for failed logins
	Action    string // e.g. "login.failed", "company.created"
	Target    string
	Detail    map[string]string
}
