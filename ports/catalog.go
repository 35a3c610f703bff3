package ports

import (
	"context"

	"github.com/schemata/schemata/domain"
)

// The catalog repositories all need a tenant scope (a unit of work) and fail
// closed without one. Lists are keyset-paginated: domain.Page.After is the id
// of the last item already returned (0 for the first page); the repository
// resolves the sort key of that id when the order is not by id. A referenced id
// that does not exist in the tenant is a CodeInvalid error naming the field;
// a uniqueness violation is a CodeConflict.

// UserAdmin is the part of the user store that user management needs beyond
// UserRepository.
type UserAdmin interface {
	// Update saves Name, Role and PasswordHash of u.ID and bumps updated_at.
	Update(ctx context.Context, u domain.User) (domain.User, error)
	// Delete removes a user (its team memberships go with it).
	Delete(ctx context.Context, id int64) error
	// LockAdmins locks every admin row (FOR UPDATE) and returns their ids, so
	// that "the last admin" checks cannot race.
	LockAdmins(ctx context.Context) ([]int64, error)
}

// TeamRepository stores teams and their members.
type TeamRepository interface {
	List(ctx context.Context, page domain.Page) ([]domain.Team, error)
	Get(ctx context.Context, id int64) (domain.Team, error)
	Create(ctx context.Context, t domain.Team) (domain.Team, error)
	Update(ctx context.Context, t domain.Team) (domain.Team, error)
	// Delete refuses (Conflict) while the team owns components.
	Delete(ctx context.Context, id int64) error
	// AddMember is idempotent; an unknown user is Invalid("user_id").
	AddMember(ctx context.Context, teamID, userID int64) error
	// RemoveMember: NotFound when the user is not a member.
	RemoveMember(ctx context.Context, teamID, userID int64) error
	// ListMembers: NotFound when the team is absent.
	ListMembers(ctx context.Context, teamID int64, page domain.Page) ([]domain.User, error)
}

// ComponentRepository stores components, their tags and dependencies.
type ComponentRepository interface {
	List(ctx context.Context, f domain.ComponentFilter, page domain.Page) ([]domain.Component, error)
	Get(ctx context.Context, id int64) (domain.Component, error)
	// Create inserts c, creating unknown tags by name and attaching them.
	Create(ctx context.Context, c domain.Component) (domain.Component, error)
	// Update saves every field of c.ID, tags included (replaced).
	Update(ctx context.Context, c domain.Component) (domain.Component, error)
	// Delete refuses (Conflict) while the component has deployments.
	Delete(ctx context.Context, id int64) error
	// AddDependency records id depends_on other: self-loop Invalid, duplicate
	// Conflict, unknown other Invalid("depends_on").
	AddDependency(ctx context.Context, id, other int64) error
	RemoveDependency(ctx context.Context, id, other int64) error
	// ListDependencies lists what id depends on; ListDependents what depends on
	// id. Both answer NotFound when id is absent.
	ListDependencies(ctx context.Context, id int64, page domain.Page) ([]domain.Component, error)
	ListDependents(ctx context.Context, id int64, page domain.Page) ([]domain.Component, error)
}

// TagRepository stores tags.
type TagRepository interface {
	List(ctx context.Context, page domain.Page) ([]domain.Tag, error)
	Get(ctx context.Context, id int64) (domain.Tag, error)
	Create(ctx context.Context, t domain.Tag) (domain.Tag, error)
	Update(ctx context.Context, t domain.Tag) (domain.Tag, error)
	// Delete detaches the tag from every component and removes it.
	Delete(ctx context.Context, id int64) error
}

// EnvironmentRepository stores environments.
type EnvironmentRepository interface {
	List(ctx context.Context, page domain.Page) ([]domain.Environment, error)
	Get(ctx context.Context, id int64) (domain.Environment, error)
	Create(ctx context.Context, e domain.Environment) (domain.Environment, error)
	Update(ctx context.Context, e domain.Environment) (domain.Environment, error)
	// Delete refuses (Conflict) while deployments reference the environment.
	Delete(ctx context.Context, id int64) error
}

// VersionRepository stores component versions.
type VersionRepository interface {
	// List returns the component's versions newest first by SemVer precedence;
	// NotFound when the component is absent.
	List(ctx context.Context, componentID int64, page domain.Page) ([]domain.Version, error)
	// Get returns a version of that component (another component's is NotFound).
	Get(ctx context.Context, componentID, id int64) (domain.Version, error)
	// Create: equal precedence to an existing version is a Conflict.
	Create(ctx context.Context, v domain.Version) (domain.Version, error)
	UpdateNotes(ctx context.Context, componentID, id int64, notes string) (domain.Version, error)
	// Delete refuses (Conflict) while deployments reference the version.
	Delete(ctx context.Context, componentID, id int64) error
}

// DeploymentRepository stores the append-only deployment ledger and the
// current state derived from it.
type DeploymentRepository interface {
	// Record appends d; when d succeeded it moves the current state of
	// (component, environment) to d unless a later deployment is already
	// current (never backwards). A version of another component is
	// Invalid("version_id") — the database enforces it too.
	Record(ctx context.Context, d domain.Deployment) (domain.Deployment, error)
	Get(ctx context.Context, id int64) (domain.Deployment, error)
	// List returns the history, newest first (deployed_at, then id).
	List(ctx context.Context, f domain.DeploymentFilter, page domain.Page) ([]domain.Deployment, error)
	// Current returns the component × environment matrix, ordered by
	// component then environment; Page.After is not used (use CurrentPage).
	Current(ctx context.Context, f domain.DeploymentFilter, page CurrentPage) ([]domain.CurrentDeployment, error)
}

// CurrentPage is the keyset of the current-state matrix.
type CurrentPage struct {
	AfterComponent, AfterEnvironment int64
	Limit                            int
}

// ActivityLog records every write in a tenant, in the write's transaction.
type ActivityLog interface {
	Record(ctx context.Context, a domain.Activity) error
	// List returns activity newest first (by id).
	List(ctx context.Context, page domain.Page) ([]domain.Activity, error)
}
