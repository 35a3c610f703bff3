package app

import (
	"context"
	"unicode/utf8"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

// Components holds the use cases on a tenant's components, their
// dependencies and their versions: every user of the tenant reads them; users
// and admins change them.
type Components struct {
	uow      ports.UnitOfWork
	comps    ports.ComponentRepository
	versions ports.VersionRepository
	activity ports.ActivityLog
}

// NewComponents wires the component use cases.
func NewComponents(uow ports.UnitOfWork, comps ports.ComponentRepository, versions ports.VersionRepository,
	activity ports.ActivityLog) *Components {
	return &Components{uow: uow, comps: comps, versions: versions, activity: activity}
}

// ComponentPatch holds the fields of a partial update. A nil pointer or an
// unset Optional leaves a field unchanged; a set Optional with a nil Value
// clears it; Tags, when not nil, replaces the component's tags.
type ComponentPatch struct {
	Name               *string
	Description        *string
	Lifecycle          *string
	RepositoryURL      *string
	ImageRepository    *string
	ServiceTypeID      *int64
	TeamID             *int64
	Tier               Optional[int]
	RegistryProviderID Optional[int64]
	Tags               *[]string
}

// maxQueryLen bounds the name substring filter.
const maxQueryLen = 63

func validateComponentFilter(f domain.ComponentFilter) (domain.ComponentFilter, error) {
	if f.TeamID < 0 {
		return f, domain.Invalid("team_id", "team_id must be a positive id")
	}
	if f.ServiceTypeID < 0 {
		return f, domain.Invalid("service_type_id", "service_type_id must be a positive id")
	}
	if f.Lifecycle != "" {
		if _, err := domain.ParseLifecycle(string(f.Lifecycle)); err != nil {
			return f, err
		}
	}
	if f.Tag != "" {
		if _, err := domain.ValidateTagName(f.Tag); err != nil {
			return f, withField(err, "tag")
		}
	}
	if !utf8.ValidString(f.Query) || utf8.RuneCountInString(f.Query) > maxQueryLen {
		return f, domain.Invalid("q", "q must be valid UTF-8 of at most %d characters", maxQueryLen)
	}
	return f, nil
}

// List pages through the tenant's components by id, narrowed by f (a name
// substring in f.Query is taken literally).
func (s *Components) List(ctx context.Context, f domain.ComponentFilter, page domain.Page) ([]domain.Component, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read components")
	if err != nil {
		return nil, err
	}
	if f, err = validateComponentFilter(f); err != nil {
		return nil, err
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.Component, error) {
		return s.comps.List(ctx, f, page.Clamp())
	})
}

// Get returns one component; another tenant's id is NotFound.
func (s *Components) Get(ctx context.Context, id int64) (domain.Component, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read components")
	if err != nil {
		return domain.Component{}, err
	}
	if id <= 0 {
		return domain.Component{}, domain.NotFound("component")
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) (domain.Component, error) {
		return s.comps.Get(ctx, id)
	})
}

// Create adds a component (lifecycle defaults to experimental; unknown tag
// names are created). A taken name is a Conflict; an unknown team, service
// type or registry provider is Invalid naming the field.
func (s *Components) Create(ctx context.Context, c domain.Component) (domain.Component, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change components")
	if err != nil {
		return domain.Component{}, err
	}
	c.ID = 0
	if err := c.Validate(); err != nil {
		return domain.Component{}, err
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Component, domain.Activity, error) {
		c, err := s.comps.Create(ctx, c)
		return c, act("create", "component", c.ID, map[string]string{"name": c.Name}), err
	})
}

func (patch ComponentPatch) apply(c *domain.Component) {
	if patch.Name != nil {
		c.Name = *patch.Name
	}
	if patch.Description != nil {
		c.Description = *patch.Description
	}
	if patch.Lifecycle != nil {
		// "" is not a way to reset: ParseLifecycle would read it as the default.
		c.Lifecycle = domain.Lifecycle(*patch.Lifecycle)
	}
	if patch.RepositoryURL != nil {
		c.RepositoryURL = *patch.RepositoryURL
	}
	if patch.ImageRepository != nil {
		c.ImageRepository = *patch.ImageRepository
	}
	if patch.ServiceTypeID != nil {
		c.ServiceTypeID = *patch.ServiceTypeID
	}
	if patch.TeamID != nil {
		c.TeamID = *patch.TeamID
	}
	c.Tier = patch.Tier.apply(c.Tier)
	c.RegistryProviderID = patch.RegistryProviderID.apply(c.RegistryProviderID)
	if patch.Tags != nil {
		c.Tags = append([]string(nil), (*patch.Tags)...)
	}
}

// Update changes the fields set in patch; the result is validated as a whole
// (e.g. clearing registry_provider_id while image_repository is set is
// Invalid("registry_provider_id")).
func (s *Components) Update(ctx context.Context, id int64, patch ComponentPatch) (domain.Component, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change components")
	if err != nil {
		return domain.Component{}, err
	}
	if id <= 0 {
		return domain.Component{}, domain.NotFound("component")
	}
	if patch.Lifecycle != nil && *patch.Lifecycle == "" {
		return domain.Component{}, domain.Invalid("lifecycle", "lifecycle must be one of experimental, production, deprecated")
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Component, domain.Activity, error) {
		c, err := s.comps.Get(ctx, id)
		if err != nil {
			return c, domain.Activity{}, err
		}
		patch.apply(&c)
		if err := c.Validate(); err != nil {
			return c, domain.Activity{}, err
		}
		c, err = s.comps.Update(ctx, c)
		return c, act("update", "component", id, map[string]string{"name": c.Name}), err
	})
}

// Delete removes a component with its versions, tags and dependency links; a
// component with deployments is a Conflict.
func (s *Components) Delete(ctx context.Context, id int64) error {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change components")
	if err != nil {
		return err
	}
	if id <= 0 {
		return domain.NotFound("component")
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		return none{}, act("delete", "component", id, nil), s.comps.Delete(ctx, id)
	})
	return err
}

// AddDependency records that component id depends on dependsOn. A self-loop
// or an unknown dependsOn is Invalid("depends_on"); a duplicate a Conflict.
func (s *Components) AddDependency(ctx context.Context, id, dependsOn int64) error {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change components")
	if err != nil {
		return err
	}
	if id <= 0 {
		return domain.NotFound("component")
	}
	if dependsOn <= 0 {
		return domain.Invalid("depends_on", "depends_on must be the id of a component of this company")
	}
	if dependsOn == id {
		return domain.Invalid("depends_on", "a component cannot depend on itself")
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		if _, err := s.comps.Get(ctx, id); err != nil {
			return none{}, domain.Activity{}, err
		}
		return none{}, act("add_dependency", "component", id, map[string]string{"depends_on": itoa(dependsOn)}),
			s.comps.AddDependency(ctx, id, dependsOn)
	})
	return err
}

// RemoveDependency removes the link; an absent link is NotFound.
func (s *Components) RemoveDependency(ctx context.Context, id, dependsOn int64) error {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change components")
	if err != nil {
		return err
	}
	if id <= 0 {
		return domain.NotFound("component")
	}
	if dependsOn <= 0 {
		return domain.NotFound("dependency")
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		if _, err := s.comps.Get(ctx, id); err != nil {
			return none{}, domain.Activity{}, err
		}
		return none{}, act("remove_dependency", "component", id, map[string]string{"depends_on": itoa(dependsOn)}),
			s.comps.RemoveDependency(ctx, id, dependsOn)
	})
	return err
}

// requireReader allows any user of the tenant to read about component id; a
// non-positive id is NotFound without a query. (The read itself checks that
// the component exists, so that an unknown one is NotFound, not an empty list.)
func requireReader(ctx context.Context, id int64, what string) (Principal, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, what)
	if err != nil {
		return Principal{}, err
	}
	if id <= 0 {
		return Principal{}, domain.NotFound("component")
	}
	return p, nil
}

// ListDependencies pages through what component id depends on.
func (s *Components) ListDependencies(ctx context.Context, id int64, page domain.Page) ([]domain.Component, error) {
	p, err := requireReader(ctx, id, "read components")
	if err != nil {
		return nil, err
	}
	// The repository answers NotFound for an absent component itself.
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.Component, error) {
		return s.comps.ListDependencies(ctx, id, page.Clamp())
	})
}

// ListDependents pages through the components that depend on component id.
func (s *Components) ListDependents(ctx context.Context, id int64, page domain.Page) ([]domain.Component, error) {
	p, err := requireReader(ctx, id, "read components")
	if err != nil {
		return nil, err
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.Component, error) {
		return s.comps.ListDependents(ctx, id, page.Clamp())
	})
}

// ListVersions pages through a component's versions, newest first by SemVer
// precedence.
func (s *Components) ListVersions(ctx context.Context, componentID int64, page domain.Page) ([]domain.Version, error) {
	p, err := requireReader(ctx, componentID, "read versions")
	if err != nil {
		return nil, err
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.Version, error) {
		return s.versions.List(ctx, componentID, page.Clamp())
	})
}

// GetVersion returns one version of the component; another component's
// version is NotFound.
func (s *Components) GetVersion(ctx context.Context, componentID, id int64) (domain.Version, error) {
	p, err := requireReader(ctx, componentID, "read versions")
	if err != nil {
		return domain.Version{}, err
	}
	if id <= 0 {
		return domain.Version{}, domain.NotFound("version")
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) (domain.Version, error) {
		return s.versions.Get(ctx, componentID, id)
	})
}

// CreateVersion adds a version to a component. The version string must be
// SemVer 2.0.0; a version of equal precedence (build metadata ignored) is a
// Conflict; an unknown component is NotFound.
func (s *Components) CreateVersion(ctx context.Context, componentID int64, v domain.Version) (domain.Version, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change versions")
	if err != nil {
		return domain.Version{}, err
	}
	if componentID <= 0 {
		return domain.Version{}, domain.NotFound("component")
	}
	v.ID, v.ComponentID = 0, componentID
	if err := v.Validate(); err != nil {
		return domain.Version{}, err
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Version, domain.Activity, error) {
		if _, err := s.comps.Get(ctx, componentID); err != nil {
			return domain.Version{}, domain.Activity{}, err
		}
		v, err := s.versions.Create(ctx, v)
		return v, act("create", "version", v.ID, map[string]string{"component_id": itoa(componentID), "version": v.Version}), err
	})
}

// UpdateVersionNotes changes a version's notes, the only mutable field.
func (s *Components) UpdateVersionNotes(ctx context.Context, componentID, id int64, notes string) (domain.Version, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change versions")
	if err != nil {
		return domain.Version{}, err
	}
	if componentID <= 0 {
		return domain.Version{}, domain.NotFound("component")
	}
	if id <= 0 {
		return domain.Version{}, domain.NotFound("version")
	}
	if notes, err = domain.ValidateDescription(notes); err != nil {
		return domain.Version{}, withField(err, "notes")
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Version, domain.Activity, error) {
		v, err := s.versions.UpdateNotes(ctx, componentID, id, notes)
		return v, act("update", "version", id, map[string]string{"component_id": itoa(componentID), "version": v.Version}), err
	})
}

// DeleteVersion removes a version; one referenced by deployments is a
// Conflict.
func (s *Components) DeleteVersion(ctx context.Context, componentID, id int64) error {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change versions")
	if err != nil {
		return err
	}
	if componentID <= 0 {
		return domain.NotFound("component")
	}
	if id <= 0 {
		return domain.NotFound("version")
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		v, err := s.versions.Get(ctx, componentID, id)
		if err != nil {
			return none{}, domain.Activity{}, err
		}
		return none{}, act("delete", "version", id, map[string]string{"component_id": itoa(componentID), "version": v.Version}),
			s.versions.Delete(ctx, componentID, id)
	})
	return err
}
