package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

const componentsPath = v1 + "/components"

// Query parameters of GET /api/v1/components.
const (
	paramTeamID        = "team_id"
	paramServiceTypeID = "service_type_id"
	paramLifecycle     = "lifecycle"
	paramTag           = "tag"
	paramQuery         = "q"
)

// listComponents: GET /api/v1/components?team_id&service_type_id&lifecycle&
// tag&q&limit&cursor, ordered by id. q is a substring of the name, taken
// literally (% and _ included).
func (a *api) listComponents(w http.ResponseWriter, r *http.Request) {
	lr, err := a.parseList(r, "components", 1, paramTeamID, paramServiceTypeID, paramLifecycle, paramTag, paramQuery)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := componentFilter(lr)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cs, err := a.svc.Components.List(r.Context(), f, lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(lr, cs, toComponentJSON, componentID))
}

// componentFilter reads the filters of a component list; each bad one is a
// 400 naming its parameter.
func componentFilter(lr listRequest) (domain.ComponentFilter, error) {
	var (
		f   domain.ComponentFilter
		err error
	)
	if f.TeamID, err = lr.idFilter(paramTeamID); err != nil {
		return f, err
	}
	if f.ServiceTypeID, err = lr.idFilter(paramServiceTypeID); err != nil {
		return f, err
	}
	if vs, ok := lr.query[paramLifecycle]; ok {
		l, err := domain.ParseLifecycle(vs[0])
		if err != nil || vs[0] == "" {
			return f, badRequest(paramLifecycle, "lifecycle must be one of experimental, production, deprecated")
		}
		f.Lifecycle = l
	}
	if vs, ok := lr.query[paramTag]; ok {
		if _, err := domain.ValidateTagName(vs[0]); err != nil {
			return f, badRequest(paramTag, "tag must be a tag name: at most 63 characters of [a-z0-9:+#] separated by '-'")
		}
		f.Tag = vs[0]
	}
	if f.Query, err = lr.textFilter(paramQuery); err != nil {
		return f, err
	}
	return f, nil
}

// createComponent: POST /api/v1/components → 201 component. Unknown tags are
// created; a service type, team or registry provider that does not exist in
// the tenant is a 422 naming the field; a taken name is a 409.
func (a *api) createComponent(w http.ResponseWriter, r *http.Request) {
	var in componentRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.svc.Components.Create(r.Context(), domain.Component{
		Name: in.Name, Description: in.Description, ServiceTypeID: in.ServiceTypeID, TeamID: in.TeamID,
		Lifecycle: domain.Lifecycle(in.Lifecycle), Tier: in.Tier, RepositoryURL: in.RepositoryURL,
		RegistryProviderID: in.RegistryProviderID, ImageRepository: in.ImageRepository, Tags: in.Tags,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	location(w, componentsPath, c.ID)
	writeJSON(w, http.StatusCreated, toComponentJSON(c))
}

// getComponent: GET /api/v1/components/{id}.
func (a *api) getComponent(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "component")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.svc.Components.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toComponentJSON(c))
}

// updateComponent: PATCH /api/v1/components/{id} → 200 component. Absent
// fields are unchanged; null clears tier and registry_provider_id, empties
// description, repository_url, image_repository and tags, and is refused for
// name, lifecycle, service_type_id and team_id. tags replaces the whole set.
func (a *api) updateComponent(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "component")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in componentPatchRequest
	if err := readJSON(r, &in, mediaJSON, mediaMergePatch); err != nil {
		a.fail(w, r, err)
		return
	}
	patch, err := componentPatch(in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.svc.Components.Update(r.Context(), id, patch)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toComponentJSON(c))
}

func componentPatch(in componentPatchRequest) (app.ComponentPatch, error) {
	p := app.ComponentPatch{
		Description:        nullMeansEmpty(in.Description),
		RepositoryURL:      nullMeansEmpty(in.RepositoryURL),
		ImageRepository:    nullMeansEmpty(in.ImageRepository),
		Tags:               nullMeansEmpty(in.Tags),
		Tier:               nullable(in.Tier),
		RegistryProviderID: nullable(in.RegistryProviderID),
	}
	var err error
	if p.Name, err = notNull(in.Name, "name"); err != nil {
		return p, err
	}
	if p.Lifecycle, err = notNull(in.Lifecycle, "lifecycle"); err != nil {
		return p, err
	}
	if p.ServiceTypeID, err = notNull(in.ServiceTypeID, "service_type_id"); err != nil {
		return p, err
	}
	if p.TeamID, err = notNull(in.TeamID, "team_id"); err != nil {
		return p, err
	}
	if p.Tags != nil && *p.Tags == nil {
		*p.Tags = []string{} // null: no tags
	}
	return p, nil
}

// deleteComponent: DELETE /api/v1/components/{id} → 204; 409 while it has
// deployments (its versions, tags and dependencies go with it otherwise).
func (a *api) deleteComponent(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "component")
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = a.svc.Components.Delete(r.Context(), id)
	}
	a.noContent(w, r, err)
}

// listDependencies: GET /api/v1/components/{id}/dependencies → the
// components it depends on.
func (a *api) listDependencies(w http.ResponseWriter, r *http.Request) {
	a.listLinked(w, r, "dependencies", a.svc.Components.ListDependencies)
}

// listDependents: GET /api/v1/components/{id}/dependents → the components
// that depend on it.
func (a *api) listDependents(w http.ResponseWriter, r *http.Request) {
	a.listLinked(w, r, "dependents", a.svc.Components.ListDependents)
}

func (a *api) listLinked(w http.ResponseWriter, r *http.Request, list string,
	fetch func(ctx context.Context, id int64, page domain.Page) ([]domain.Component, error)) {
	id, err := pathID(r, "id", "component")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	lr, err := a.parseList(r, "components/"+strconv.FormatInt(id, 10)+"/"+list, 1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cs, err := fetch(r.Context(), id, lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(lr, cs, toComponentJSON, componentID))
}

// addDependency: POST /api/v1/components/{id}/dependencies/{other_id} (no
// body) → 201 {"component_id","depends_on_id"}. Both ids are in the path, so
// an unknown one is a 404 like any other path id; a self-loop is a 422
// naming other_id; a duplicate a 409.
func (a *api) addDependency(w http.ResponseWriter, r *http.Request) {
	id, other, err := pathIDs(r, "id", "component", "other_id", "component")
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = a.svc.Components.AddDependency(r.Context(), id, other)
		// The use case reports the other component as an invalid input
		// (depends_on): here it is the path parameter other_id.
		switch {
		case !domain.IsCode(err, domain.CodeInvalid):
		case id == other:
			err = domain.Invalid("other_id", "a component cannot depend on itself")
		default:
			err = domain.NotFound("component")
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, dependencyJSON{ComponentID: id, DependsOnID: other})
}

// removeDependency: DELETE /api/v1/components/{id}/dependencies/{other_id} → 204.
func (a *api) removeDependency(w http.ResponseWriter, r *http.Request) {
	id, other, err := pathIDs(r, "id", "component", "other_id", "dependency")
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = a.svc.Components.RemoveDependency(r.Context(), id, other)
	}
	a.noContent(w, r, err)
}

// listVersions: GET /api/v1/components/{id}/versions → newest first by
// SemVer precedence.
func (a *api) listVersions(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "component")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	lr, err := a.parseList(r, "components/"+strconv.FormatInt(id, 10)+"/versions", 1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	vs, err := a.svc.Components.ListVersions(r.Context(), id, lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(lr, vs, toVersionJSON, versionID))
}

// createVersion: POST /api/v1/components/{id}/versions {"version",
// "image_digest","git_sha","notes"} → 201 version. A version of equal SemVer
// precedence (build metadata ignored) is a 409.
func (a *api) createVersion(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "component")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in versionRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.svc.Components.CreateVersion(r.Context(), id, domain.Version{
		Version: in.Version, ImageDigest: in.ImageDigest, GitSHA: in.GitSHA, Notes: in.Notes})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	location(w, componentsPath+"/"+strconv.FormatInt(id, 10)+"/versions", v.ID)
	writeJSON(w, http.StatusCreated, toVersionJSON(v))
}

// getVersion: GET /api/v1/components/{id}/versions/{version_id}; a version
// of another component is a 404.
func (a *api) getVersion(w http.ResponseWriter, r *http.Request) {
	id, vid, err := pathIDs(r, "id", "component", "version_id", "version")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.svc.Components.GetVersion(r.Context(), id, vid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toVersionJSON(v))
}

// updateVersion: PATCH /api/v1/components/{id}/versions/{version_id}
// {"notes"} → 200 version. Versions are immutable except their notes; null
// clears them.
func (a *api) updateVersion(w http.ResponseWriter, r *http.Request) {
	id, vid, err := pathIDs(r, "id", "component", "version_id", "version")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in versionPatchRequest
	if err := readJSON(r, &in, mediaJSON, mediaMergePatch); err != nil {
		a.fail(w, r, err)
		return
	}
	if !in.Notes.Set {
		a.fail(w, r, domain.Invalid("notes", "notes is required: it is the only field of a version that can change"))
		return
	}
	v, err := a.svc.Components.UpdateVersionNotes(r.Context(), id, vid, in.Notes.Value)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toVersionJSON(v))
}

// deleteVersion: DELETE /api/v1/components/{id}/versions/{version_id} → 204;
// 409 while deployments reference it.
func (a *api) deleteVersion(w http.ResponseWriter, r *http.Request) {
	id, vid, err := pathIDs(r, "id", "component", "version_id", "version")
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = a.svc.Components.DeleteVersion(r.Context(), id, vid)
	}
	a.noContent(w, r, err)
}
