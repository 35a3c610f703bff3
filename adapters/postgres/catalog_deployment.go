package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

var _ ports.DeploymentRepository = (*DeploymentRepository)(nil)

// deploymentRow is a row of the tenant table deployments (append-only).
type deploymentRow struct {
	bun.BaseModel `bun:"table:deployments,alias:d"`

	ID            int64     `bun:"id,pk,autoincrement"`
	ComponentID   int64     `bun:"component_id,notnull"`
	EnvironmentID int64     `bun:"environment_id,notnull"`
	VersionID     int64     `bun:"version_id,notnull"`
	Status        string    `bun:"status,notnull"`
	DeployedAt    time.Time `bun:"deployed_at,notnull"`
	Actor         string    `bun:"actor,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

func (r deploymentRow) domain() domain.Deployment {
	return domain.Deployment{
		ID:            r.ID,
		ComponentID:   r.ComponentID,
		EnvironmentID: r.EnvironmentID,
		VersionID:     r.VersionID,
		Status:        domain.DeploymentStatus(r.Status),
		DeployedAt:    r.DeployedAt,
		Actor:         r.Actor,
		CreatedAt:     r.CreatedAt,
	}
}

// currentRow is a row of the tenant table deployment_current with the version
// string joined from versions.
type currentRow struct {
	bun.BaseModel `bun:"table:deployment_current,alias:dc"`

	ComponentID   int64     `bun:"component_id,pk"`
	EnvironmentID int64     `bun:"environment_id,pk"`
	VersionID     int64     `bun:"version_id,notnull"`
	Version       string    `bun:"version,scanonly"`
	DeploymentID  int64     `bun:"deployment_id,notnull"`
	DeployedAt    time.Time `bun:"deployed_at,notnull"`
}

func (r currentRow) domain() domain.CurrentDeployment {
	return domain.CurrentDeployment{
		ComponentID:   r.ComponentID,
		EnvironmentID: r.EnvironmentID,
		VersionID:     r.VersionID,
		Version:       r.Version,
		DeploymentID:  r.DeploymentID,
		DeployedAt:    r.DeployedAt,
	}
}

// DeploymentRepository stores a tenant's append-only deployment ledger and
// the current state derived from it. Every method needs a tenant scope in ctx
// (UnitOfWork) and returns ErrNoTenantScope without one.
type DeploymentRepository struct {
	db *bun.DB
}

// NewDeploymentRepository returns a DeploymentRepository over db.
func NewDeploymentRepository(db *bun.DB) *DeploymentRepository {
	return &DeploymentRepository{db: db}
}

// recordDeploymentSQL appends a deployment and, when it succeeded, moves the
// current state of its (component, environment) to it unless the current
// deployment is later by (deployed_at, id): a late event never moves the
// state backwards. One statement; the row lock taken by ON CONFLICT DO UPDATE
// makes concurrent events for one cell apply one after the other, each
// comparing against the latest committed state.
const recordDeploymentSQL = `WITH d AS (
	INSERT INTO deployments (component_id, environment_id, version_id, status, deployed_at, actor)
	VALUES (?, ?, ?, ?, COALESCE(?::timestamptz, now()), ?)
	RETURNING *
), cur AS (
	INSERT INTO deployment_current AS dc (component_id, environment_id, version_id, deployment_id, deployed_at)
	SELECT d.component_id, d.environment_id, d.version_id, d.id, d.deployed_at FROM d WHERE d.status = 'succeeded'
	ON CONFLICT (component_id, environment_id) DO UPDATE
	SET version_id = EXCLUDED.version_id, deployment_id = EXCLUDED.deployment_id, deployed_at = EXCLUDED.deployed_at
	WHERE (EXCLUDED.deployed_at, EXCLUDED.deployment_id) > (dc.deployed_at, dc.deployment_id)
)
SELECT * FROM d`

// Record appends d (a zero DeployedAt means now) and returns it as stored,
// moving the current state forwards when d succeeded — one statement. An
// absent component, environment or version is Invalid naming the field; a
// version of another component is Invalid("version_id"), which the database
// enforces with a composite foreign key.
func (r *DeploymentRepository) Record(ctx context.Context, d domain.Deployment) (domain.Deployment, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Deployment{}, err
	}
	status := d.Status
	if status == "" {
		status = domain.DeploymentSucceeded
	}
	var at *time.Time
	if !d.DeployedAt.IsZero() {
		at = &d.DeployedAt
	}
	var row deploymentRow
	err = h.NewRaw(recordDeploymentSQL,
		d.ComponentID, d.EnvironmentID, d.VersionID, string(status), at, d.Actor).Scan(ctx, &row)
	if err != nil {
		return domain.Deployment{}, writeError(err, "the deployment conflicts with a recorded one")
	}
	return row.domain(), nil
}

// Get returns deployment id; NotFound when absent.
func (r *DeploymentRepository) Get(ctx context.Context, id int64) (domain.Deployment, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Deployment{}, err
	}
	var row deploymentRow
	if err := h.NewSelect().Model(&row).Where("d.id = ?", id).Scan(ctx); err != nil {
		return domain.Deployment{}, rowError(err, "deployment")
	}
	return row.domain(), nil
}

// List returns one page of the history narrowed by f, newest first by
// (deployed_at, id); Page.After is the id of the last deployment seen.
func (r *DeploymentRepository) List(ctx context.Context, f domain.DeploymentFilter, page domain.Page) ([]domain.Deployment, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return nil, err
	}
	p := page.Clamp()
	var rows []deploymentRow
	q := h.NewSelect().Model(&rows)
	if f.ComponentID != 0 {
		q = q.Where("d.component_id = ?", f.ComponentID)
	}
	if f.EnvironmentID != 0 {
		q = q.Where("d.environment_id = ?", f.EnvironmentID)
	}
	if p.After > 0 {
		// The sort key of the last deployment seen (the ledger is
		// append-only, so it always resolves for an id that was listed).
		q = q.Where("(d.deployed_at, d.id) < (SELECT a.deployed_at, a.id FROM deployments AS a WHERE a.id = ?)", p.After)
	}
	if err := q.OrderExpr("d.deployed_at DESC, d.id DESC").Limit(int64(p.Limit)).Scan(ctx); err != nil {
		return nil, mapError(err)
	}
	out := make([]domain.Deployment, len(rows))
	for i, row := range rows {
		out[i] = row.domain()
	}
	return out, nil
}

// Current returns one page of the component × environment matrix narrowed by
// f, in (component, environment) order after (AfterComponent,
// AfterEnvironment), each cell with its version string.
func (r *DeploymentRepository) Current(ctx context.Context, f domain.DeploymentFilter, page ports.CurrentPage) ([]domain.CurrentDeployment, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return nil, err
	}
	limit := domain.Page{Limit: page.Limit}.Clamp().Limit
	var rows []currentRow
	q := h.NewSelect().
		Model(&rows).
		ColumnExpr("dc.*").
		ColumnExpr("v.version").
		Join("JOIN versions AS v ON v.id = dc.version_id")
	if f.ComponentID != 0 {
		q = q.Where("dc.component_id = ?", f.ComponentID)
	}
	if f.EnvironmentID != 0 {
		q = q.Where("dc.environment_id = ?", f.EnvironmentID)
	}
	err = q.Where("(dc.component_id, dc.environment_id) > (?, ?)", page.AfterComponent, page.AfterEnvironment).
		OrderExpr("dc.component_id ASC, dc.environment_id ASC").
		Limit(int64(limit)).
		Scan(ctx)
	if err != nil {
		return nil, mapError(err)
	}
	out := make([]domain.CurrentDeployment, len(rows))
	for i, row := range rows {
		out[i] = row.domain()
	}
	return out, nil
}
