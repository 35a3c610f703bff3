package app

import (
	"context"
	"time"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

// MaxDeploymentClockSkew is how far in the future a reported deployed_at may
// lie (clock skew between the reporting CI system and this service).
const MaxDeploymentClockSkew = 5 * time.Minute

// Deployments holds the use cases on a tenant's deployment ledger and the
// current state derived from it: every user of the tenant reads them; users
// and admins record deployments.
type Deployments struct {
	uow      ports.UnitOfWork
	deps     ports.DeploymentRepository
	clock    ports.Clock
	activity ports.ActivityLog
}

// NewDeployments wires the deployment use cases.
func NewDeployments(uow ports.UnitOfWork, deps ports.DeploymentRepository, clock ports.Clock, activity ports.ActivityLog) *Deployments {
	return &Deployments{uow: uow, deps: deps, clock: clock, activity: activity}
}

// DeploymentInput is a deployment event to record. Status "" means
// succeeded; a nil DeployedAt means now.
type DeploymentInput struct {
	ComponentID   int64
	EnvironmentID int64
	VersionID     int64
	Status        string
	DeployedAt    *time.Time
}

// minDeployedAt bounds deployed_at from below: older times are typos (and
// year 0 is out of the database's range).
var minDeployedAt = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// Record appends a deployment event to the ledger, attributed to the caller.
// A succeeded deployment moves the current state of (component, environment)
// unless a later one is already current. Unknown ids, and a version of
// another component, are Invalid naming the field.
func (s *Deployments) Record(ctx context.Context, in DeploymentInput) (domain.Deployment, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "record deployments")
	if err != nil {
		return domain.Deployment{}, err
	}
	for _, ref := range []struct {
		field string
		id    int64
	}{{"component_id", in.ComponentID}, {"environment_id", in.EnvironmentID}, {"version_id", in.VersionID}} {
		if ref.id <= 0 {
			return domain.Deployment{}, domain.Invalid(ref.field, "%s is required", ref.field)
		}
	}
	status, err := domain.ParseDeploymentStatus(in.Status)
	if err != nil {
		return domain.Deployment{}, err
	}
	now := s.clock.Now()
	at := now
	if in.DeployedAt != nil {
		at = *in.DeployedAt
		if at.IsZero() || at.Before(minDeployedAt) {
			return domain.Deployment{}, domain.Invalid("deployed_at", "deployed_at must be a time after 1970-01-01")
		}
		if at.After(now.Add(MaxDeploymentClockSkew)) {
			return domain.Deployment{}, domain.Invalid("deployed_at", "deployed_at is more than %s in the future", MaxDeploymentClockSkew)
		}
	}
	d := domain.Deployment{ComponentID: in.ComponentID, EnvironmentID: in.EnvironmentID, VersionID: in.VersionID,
		Status: status, DeployedAt: at.UTC(), Actor: p.Actor()}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Deployment, domain.Activity, error) {
		d, err := s.deps.Record(ctx, d)
		return d, act("create", "deployment", d.ID, map[string]string{"component_id": itoa(d.ComponentID),
			"environment_id": itoa(d.EnvironmentID), "version_id": itoa(d.VersionID), "status": string(d.Status)}), err
	})
}

// Get returns one deployment event; another tenant's id is NotFound.
func (s *Deployments) Get(ctx context.Context, id int64) (domain.Deployment, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read deployments")
	if err != nil {
		return domain.Deployment{}, err
	}
	if id <= 0 {
		return domain.Deployment{}, domain.NotFound("deployment")
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) (domain.Deployment, error) {
		return s.deps.Get(ctx, id)
	})
}

func validateDeploymentFilter(f domain.DeploymentFilter) error {
	if f.ComponentID < 0 {
		return domain.Invalid("component_id", "component_id must be a positive id")
	}
	if f.EnvironmentID < 0 {
		return domain.Invalid("environment_id", "environment_id must be a positive id")
	}
	return nil
}

// List pages through the deployment history, newest first, narrowed by f.
func (s *Deployments) List(ctx context.Context, f domain.DeploymentFilter, page domain.Page) ([]domain.Deployment, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read deployments")
	if err != nil {
		return nil, err
	}
	if err := validateDeploymentFilter(f); err != nil {
		return nil, err
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.Deployment, error) {
		return s.deps.List(ctx, f, page.Clamp())
	})
}

// Current pages through the component × environment → version matrix,
// ordered by component then environment, narrowed by f.
func (s *Deployments) Current(ctx context.Context, f domain.DeploymentFilter, page ports.CurrentPage) ([]domain.CurrentDeployment, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read deployments")
	if err != nil {
		return nil, err
	}
	if err := validateDeploymentFilter(f); err != nil {
		return nil, err
	}
	page.Limit = domain.Page{Limit: page.Limit}.Clamp().Limit
	page.AfterComponent, page.AfterEnvironment = max(page.AfterComponent, 0), max(page.AfterEnvironment, 0)
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.CurrentDeployment, error) {
		return s.deps.Current(ctx, f, page)
	})
}
