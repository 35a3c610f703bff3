package app

import (
	"context"
	"strconv"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// Principal is who is calling: the platform admin (no tenant) or a user of one
// company, authenticated from a verified token.
type Principal struct {
	PlatformAdmin bool
	CompanyID     tenancy.CompanyID
	UserID        int64
	Role          domain.Role // the user's current role, read from the database
}

// Actor names the principal in audit events.
func (p Principal) Actor() string {
	if p.PlatformAdmin {
		return "platform-admin"
	}
	if p.UserID != 0 {
		return "user:" + strconv.FormatInt(p.UserID, 10)
	}
	return "anonymous"
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p and, for a tenant user, its company
// (tenancy.WithCompany). Only authentication middleware calls it.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	ctx = context.WithValue(ctx, principalKey{}, p)
	if p.CompanyID.Valid() {
		ctx = tenancy.WithCompany(ctx, p.CompanyID)
	}
	return ctx
}

// PrincipalFromContext returns the caller, if authenticated.
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

func errUnauthenticated() error {
	return domain.Errorf(domain.CodeUnauthenticated, "authentication required")
}

func errForbidden(what string) error {
	return domain.Errorf(domain.CodeForbidden, "not allowed to %s", what)
}

// requirePlatformAdmin allows only the platform admin.
func requirePlatformAdmin(ctx context.Context, what string) (Principal, error) {
	p, ok := PrincipalFromContext(ctx)
	if !ok {
		return Principal{}, errUnauthenticated()
	}
	if !p.PlatformAdmin {
		return Principal{}, errForbidden(what)
	}
	return p, nil
}

// requireTenantRole allows a user of some company holding at least min.
func requireTenantRole(ctx context.Context, min domain.Role, what string) (Principal, error) {
	p, ok := PrincipalFromContext(ctx)
	if !ok {
		return Principal{}, errUnauthenticated()
	}
	if p.PlatformAdmin || !p.CompanyID.Valid() || !p.Role.AtLeast(min) {
		return Principal{}, errForbidden(what)
	}
	return p, nil
}
