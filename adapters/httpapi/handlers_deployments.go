package httpapi

import (
	"net/http"
	"time"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

const deploymentsPath = v1 + "/deployments"

// minDeploymentYear bounds deployed_at from below: nothing was deployed
// before 1970, and year 0 is outside PostgreSQL's timestamp range.
const minDeploymentYear = 1970

// Query parameters of the deployment lists.
const (
	paramComponentID   = "component_id"
	paramEnvironmentID = "environment_id"
)

// deploymentFilter reads ?component_id and ?environment_id.
func deploymentFilter(lr listRequest) (domain.DeploymentFilter, error) {
	var (
		f   domain.DeploymentFilter
		err error
	)
	if f.ComponentID, err = lr.idFilter(paramComponentID); err != nil {
		return f, err
	}
	f.EnvironmentID, err = lr.idFilter(paramEnvironmentID)
	return f, err
}

// listDeployments: GET /api/v1/deployments?component_id&environment_id&limit&
// cursor → the ledger, newest first.
func (a *api) listDeployments(w http.ResponseWriter, r *http.Request) {
	lr, err := a.parseList(r, "deployments", 1, paramComponentID, paramEnvironmentID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := deploymentFilter(lr)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ds, err := a.svc.Deployments.List(r.Context(), f, lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(lr, ds, toDeploymentJSON, deploymentID))
}

// recordDeployment: POST /api/v1/deployments {"component_id",
// "environment_id","version_id","status","deployed_at"} → 201 deployment.
// status defaults to succeeded, deployed_at (RFC 3339) to now. A version of
// another component, or an id that does not exist in the tenant, is a 422
// naming the field.
func (a *api) recordDeployment(w http.ResponseWriter, r *http.Request) {
	var in deploymentRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	dep := app.DeploymentInput{ComponentID: in.ComponentID, EnvironmentID: in.EnvironmentID,
		VersionID: in.VersionID, Status: in.Status}
	if in.DeployedAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *in.DeployedAt)
		if err != nil {
			a.fail(w, r, domain.Invalid("deployed_at", "deployed_at must be an RFC 3339 timestamp such as 2030-01-02T15:04:05Z"))
			return
		}
		if t.UTC().Year() < minDeploymentYear {
			a.fail(w, r, domain.Invalid("deployed_at", "deployed_at must not be before %d", minDeploymentYear))
			return
		}
		dep.DeployedAt = &t
	}
	d, err := a.svc.Deployments.Record(r.Context(), dep)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	location(w, deploymentsPath, d.ID)
	writeJSON(w, http.StatusCreated, toDeploymentJSON(d))
}

// getDeployment: GET /api/v1/deployments/{id}.
func (a *api) getDeployment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "deployment")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.svc.Deployments.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toDeploymentJSON(d))
}

// currentDeployments: GET /api/v1/deployments/current?component_id&
// environment_id&limit&cursor → the component × environment matrix of the
// versions running now, ordered by component then environment. Its cursor
// carries both ids.
func (a *api) currentDeployments(w http.ResponseWriter, r *http.Request) {
	lr, err := a.parseList(r, "deployments/current", 2, paramComponentID, paramEnvironmentID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := deploymentFilter(lr)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := ports.CurrentPage{Limit: lr.page().Limit}
	if len(lr.keys) == 2 {
		page.AfterComponent, page.AfterEnvironment = lr.keys[0], lr.keys[1]
	}
	cs, err := a.svc.Deployments.Current(r.Context(), f, page)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newKeyedList(lr, cs, toCurrentJSON, currentKeys))
}
