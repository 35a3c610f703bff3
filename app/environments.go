package app

import (
	"context"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

// Environments holds the use cases on a tenant's environments: every user of
// the tenant reads them; users and admins change them.
type Environments struct {
	uow      ports.UnitOfWork
	envs     ports.EnvironmentRepository
	activity ports.ActivityLog
}

// NewEnvironments wires the environment use cases.
func NewEnvironments(uow ports.UnitOfWork, envs ports.EnvironmentRepository, activity ports.ActivityLog) *Environments {
	return &Environments{uow: uow, envs: envs, activity: activity}
}

// EnvironmentPatch holds the fields of a partial update; nil leaves a field
// unchanged.
type EnvironmentPatch struct {
	Name            *string
	Category        *string
	Region          *string
	CloudProviderID *int64
}

// List pages through the tenant's environments by id.
func (s *Environments) List(ctx context.Context, page domain.Page) ([]domain.Environment, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read environments")
	if err != nil {
		return nil, err
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.Environment, error) {
		return s.envs.List(ctx, page.Clamp())
	})
}

// Get returns one environment; another tenant's id is NotFound.
func (s *Environments) Get(ctx context.Context, id int64) (domain.Environment, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read environments")
	if err != nil {
		return domain.Environment{}, err
	}
	if id <= 0 {
		return domain.Environment{}, domain.NotFound("environment")
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) (domain.Environment, error) {
		return s.envs.Get(ctx, id)
	})
}

// Create adds an environment. A taken name is a Conflict; an unknown cloud
// provider is Invalid("cloud_provider_id").
func (s *Environments) Create(ctx context.Context, e domain.Environment) (domain.Environment, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change environments")
	if err != nil {
		return domain.Environment{}, err
	}
	e.ID = 0
	if err := e.Validate(); err != nil {
		return domain.Environment{}, err
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Environment, domain.Activity, error) {
		e, err := s.envs.Create(ctx, e)
		return e, act("create", "environment", e.ID, map[string]string{"name": e.Name}), err
	})
}

// Update changes the fields set in patch; the result is validated as a whole.
func (s *Environments) Update(ctx context.Context, id int64, patch EnvironmentPatch) (domain.Environment, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change environments")
	if err != nil {
		return domain.Environment{}, err
	}
	if id <= 0 {
		return domain.Environment{}, domain.NotFound("environment")
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Environment, domain.Activity, error) {
		e, err := s.envs.Get(ctx, id)
		if err != nil {
			return e, domain.Activity{}, err
		}
		if patch.Name != nil {
			e.Name = *patch.Name
		}
		if patch.Category != nil {
			e.Category = domain.EnvCategory(*patch.Category)
		}
		if patch.Region != nil {
			e.Region = *patch.Region
		}
		if patch.CloudProviderID != nil {
			e.CloudProviderID = *patch.CloudProviderID
		}
		if err := e.Validate(); err != nil {
			return e, domain.Activity{}, err
		}
		e, err = s.envs.Update(ctx, e)
		return e, act("update", "environment", id, map[string]string{"name": e.Name}), err
	})
}

// Delete removes an environment; one with deployments is a Conflict.
func (s *Environments) Delete(ctx context.Context, id int64) error {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change environments")
	if err != nil {
		return err
	}
	if id <= 0 {
		return domain.NotFound("environment")
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		return none{}, act("delete", "environment", id, nil), s.envs.Delete(ctx, id)
	})
	return err
}
