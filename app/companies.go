package app

import (
	"context"
	"log/slog"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// Companies is the platform admin's use cases on tenants.
type Companies struct {
	provisioner ports.Provisioner
	companies   ports.CompanyRepository
	directory   ports.TenantDirectory
	users       ports.UserRepository
	audit       ports.AuditLog
}

// NewCompanies wires the company use cases.
func NewCompanies(prov ports.Provisioner, companies ports.CompanyRepository, dir ports.TenantDirectory,
	users ports.UserRepository, audit ports.AuditLog) *Companies {
	return &Companies{provisioner: prov, companies: companies, directory: dir, users: users, audit: audit}
}

// Create provisions a company and its schema in one transaction.
func (s *Companies) Create(ctx context.Context, name string) (domain.Company, error) {
	p, err := requirePlatformAdmin(ctx, "create companies")
	if err != nil {
		return domain.Company{}, err
	}
	name, err = domain.ValidateName("name", name)
	if err != nil {
		return domain.Company{}, err
	}
	c, err := s.provisioner.Create(ctx, name, func(ctx context.Context, id tenancy.CompanyID) error {
		return s.audit.Record(ctx, domain.AuditEvent{CompanyID: int64(id), Actor: p.Actor(),
			Action: "company.created", Target: "company:" + id.String(), Detail: map[string]string{"name": name}})
	})
	if err != nil {
		return domain.Company{}, err
	}
	slog.InfoContext(ctx, "company created", "company_id", c.ID)
	return c, nil
}

// List pages through companies by id.
func (s *Companies) List(ctx context.Context, page domain.Page) ([]domain.Company, error) {
	if _, err := requirePlatformAdmin(ctx, "list companies"); err != nil {
		return nil, err
	}
	return s.companies.List(ctx, page.Clamp())
}

// Get returns one company.
func (s *Companies) Get(ctx context.Context, id tenancy.CompanyID) (domain.Company, error) {
	if _, err := requirePlatformAdmin(ctx, "read companies"); err != nil {
		return domain.Company{}, err
	}
	if !id.Valid() {
		return domain.Company{}, domain.NotFound("company")
	}
	return s.companies.Get(ctx, id)
}

// Delete drops a company's schema and row together; it is refused (Conflict)
// while the company has users. Tokens of the company stop working at once.
func (s *Companies) Delete(ctx context.Context, id tenancy.CompanyID) error {
	return s.drop(ctx, id, false)
}

// Purge drops a company with everything in it, users included (their email
// lookup rows go with the company row). It is the operator's `tenants drop
// --force`; the HTTP API offers only Delete.
func (s *Companies) Purge(ctx context.Context, id tenancy.CompanyID) error {
	return s.drop(ctx, id, true)
}

func (s *Companies) drop(ctx context.Context, id tenancy.CompanyID, withUsers bool) error {
	action := "company.deleted"
	if withUsers {
		action = "company.purged"
	}
	p, err := requirePlatformAdmin(ctx, "delete companies")
	if err != nil {
		return err
	}
	if !id.Valid() {
		return domain.NotFound("company")
	}
	err = s.provisioner.Delete(ctx, id, func(ctx context.Context) error {
		n, err := s.users.Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 && !withUsers {
			return domain.Conflict("company %d still has %d user(s); delete them first", id, n)
		}
		return s.audit.Record(ctx, domain.AuditEvent{CompanyID: int64(id), Actor: p.Actor(),
			Action: action, Target: "company:" + id.String(), Detail: map[string]string{"users": itoa(n)}})
	})
	if err != nil {
		return err
	}
	s.directory.Invalidate(ctx, id)
	slog.InfoContext(ctx, action, "company_id", int64(id))
	return nil
}
