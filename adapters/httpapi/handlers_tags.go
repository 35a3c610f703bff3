package httpapi

import (
	"net/http"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

const (
	tagsPath         = v1 + "/tags"
	environmentsPath = v1 + "/environments"
)

// listTags: GET /api/v1/tags?limit&cursor.
func (a *api) listTags(w http.ResponseWriter, r *http.Request) {
	lr, err := a.parseList(r, "tags", 1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ts, err := a.svc.Tags.List(r.Context(), lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(lr, ts, toTagJSON, tagID))
}

// createTag: POST /api/v1/tags {"name"} → 201 tag; a taken name is a 409.
func (a *api) createTag(w http.ResponseWriter, r *http.Request) {
	var in tagRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.svc.Tags.Create(r.Context(), in.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	location(w, tagsPath, t.ID)
	writeJSON(w, http.StatusCreated, toTagJSON(t))
}

// getTag: GET /api/v1/tags/{id}.
func (a *api) getTag(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "tag")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.svc.Tags.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTagJSON(t))
}

// updateTag: PATCH /api/v1/tags/{id} {"name"} → 200 tag (a rename; name is
// its only field, so it is required).
func (a *api) updateTag(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "tag")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in tagPatchRequest
	if err := readJSON(r, &in, mediaJSON, mediaMergePatch); err != nil {
		a.fail(w, r, err)
		return
	}
	name, err := notNull(in.Name, "name")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if name == nil {
		a.fail(w, r, domain.Invalid("name", "name is required: it is the only field of a tag"))
		return
	}
	t, err := a.svc.Tags.Update(r.Context(), id, *name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTagJSON(t))
}

// deleteTag: DELETE /api/v1/tags/{id} → 204; the tag is detached from every
// component.
func (a *api) deleteTag(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "tag")
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = a.svc.Tags.Delete(r.Context(), id)
	}
	a.noContent(w, r, err)
}

// listEnvironments: GET /api/v1/environments?limit&cursor.
func (a *api) listEnvironments(w http.ResponseWriter, r *http.Request) {
	lr, err := a.parseList(r, "environments", 1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	es, err := a.svc.Environments.List(r.Context(), lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(lr, es, toEnvironmentJSON, environmentID))
}

// createEnvironment: POST /api/v1/environments {"name","category",
// "cloud_provider_id","region"} → 201 environment.
func (a *api) createEnvironment(w http.ResponseWriter, r *http.Request) {
	var in environmentRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	e, err := a.svc.Environments.Create(r.Context(), domain.Environment{Name: in.Name,
		Category: domain.EnvCategory(in.Category), CloudProviderID: in.CloudProviderID, Region: in.Region})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	location(w, environmentsPath, e.ID)
	writeJSON(w, http.StatusCreated, toEnvironmentJSON(e))
}

// getEnvironment: GET /api/v1/environments/{id}.
func (a *api) getEnvironment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "environment")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	e, err := a.svc.Environments.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEnvironmentJSON(e))
}

// updateEnvironment: PATCH /api/v1/environments/{id} → 200 environment. A
// null name, category or cloud_provider_id is refused; a null region clears it.
func (a *api) updateEnvironment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "environment")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in environmentPatchRequest
	if err := readJSON(r, &in, mediaJSON, mediaMergePatch); err != nil {
		a.fail(w, r, err)
		return
	}
	patch := app.EnvironmentPatch{Region: nullMeansEmpty(in.Region)}
	if patch.Name, err = notNull(in.Name, "name"); err == nil {
		if patch.Category, err = notNull(in.Category, "category"); err == nil {
			patch.CloudProviderID, err = notNull(in.CloudProviderID, "cloud_provider_id")
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	e, err := a.svc.Environments.Update(r.Context(), id, patch)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEnvironmentJSON(e))
}

// deleteEnvironment: DELETE /api/v1/environments/{id} → 204; 409 while
// deployments reference it.
func (a *api) deleteEnvironment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "environment")
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = a.svc.Environments.Delete(r.Context(), id)
	}
	a.noContent(w, r, err)
}
