package tenancy

import (
	"context"
	"errors"
	"strconv"
)

// CompanyID identifies a tenant. It is always > 0; the tenant's schema name is
// derived from it and from nothing else.
type CompanyID int64

// ErrInvalidCompanyID is returned by ParseCompanyID for anything that is not a
// positive decimal integer.
var ErrInvalidCompanyID = errors.New("company id must be a positive integer")

// ParseCompanyID accepts only a canonical positive decimal integer ("7", not
// "+7", "07", " 7" or "7; DROP …").
func ParseCompanyID(s string) (CompanyID, error) {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return 0, ErrInvalidCompanyID
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrInvalidCompanyID
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, ErrInvalidCompanyID
	}
	return CompanyID(n), nil
}

// Valid reports whether id can name a tenant.
func (id CompanyID) Valid() bool { return id > 0 }

// SchemaPrefix starts every tenant schema name.
const SchemaPrefix = "company_"

// Schema returns the tenant's schema name, company_<id>. It panics on an
// invalid id: callers validate ids at the edge, so an invalid one here is a bug
// and must never reach SQL.
func (id CompanyID) Schema() string {
	if !id.Valid() {
		panic("tenancy: schema name for invalid company id " + strconv.FormatInt(int64(id), 10))
	}
	return SchemaPrefix + strconv.FormatInt(int64(id), 10)
}

// ParseSchema returns the CompanyID of a tenant schema name, or false.
func ParseSchema(schema string) (CompanyID, bool) {
	if len(schema) <= len(SchemaPrefix) || schema[:len(SchemaPrefix)] != SchemaPrefix {
		return 0, false
	}
	id, err := ParseCompanyID(schema[len(SchemaPrefix):])
	return id, err == nil
}

func (id CompanyID) String() string { return strconv.FormatInt(int64(id), 10) }

type companyKey struct{}

// WithCompany returns a context carrying the tenant of the current request.
// Only authentication middleware (from a verified token) should call it.
func WithCompany(ctx context.Context, id CompanyID) context.Context {
	return context.WithValue(ctx, companyKey{}, id)
}

// CompanyFromContext returns the tenant of the current request, if any.
func CompanyFromContext(ctx context.Context) (CompanyID, bool) {
	id, ok := ctx.Value(companyKey{}).(CompanyID)
	return id, ok && id.Valid()
}
