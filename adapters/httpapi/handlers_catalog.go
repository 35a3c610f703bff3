package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// catalogRoutes mounts the tenant catalog (issue 3) on r, a group whose
// callers are authenticated. The use cases authorise by role; every {id}
// resolves inside the caller's tenant.
func (a *api) catalogRoutes(r chi.Router) {
	r.Get(v1+"/users", a.listUsers)
	r.Get(v1+"/users/{id}", a.getUser)
	r.Patch(v1+"/users/{id}", a.updateUser)
	r.Delete(v1+"/users/{id}", a.deleteUser)

	r.Get(v1+"/teams", a.listTeams)
	r.Post(v1+"/teams", a.createTeam)
	r.Get(v1+"/teams/{id}", a.getTeam)
	r.Patch(v1+"/teams/{id}", a.updateTeam)
	r.Delete(v1+"/teams/{id}", a.deleteTeam)
	r.Get(v1+"/teams/{id}/members", a.listMembers)
	r.Post(v1+"/teams/{id}/members", a.addMember)
	r.Delete(v1+"/teams/{id}/members/{user_id}", a.removeMember)

	r.Get(v1+"/components", a.listComponents)
	r.Post(v1+"/components", a.createComponent)
	r.Get(v1+"/components/{id}", a.getComponent)
	r.Patch(v1+"/components/{id}", a.updateComponent)
	r.Delete(v1+"/components/{id}", a.deleteComponent)
	r.Get(v1+"/components/{id}/dependencies", a.listDependencies)
	r.Get(v1+"/components/{id}/dependents", a.listDependents)
	r.Post(v1+"/components/{id}/dependencies/{other_id}", a.addDependency)
	r.Delete(v1+"/components/{id}/dependencies/{other_id}", a.removeDependency)
	r.Get(v1+"/components/{id}/versions", a.listVersions)
	r.Post(v1+"/components/{id}/versions", a.createVersion)
	r.Get(v1+"/components/{id}/versions/{version_id}", a.getVersion)
	r.Patch(v1+"/components/{id}/versions/{version_id}", a.updateVersion)
	r.Delete(v1+"/components/{id}/versions/{version_id}", a.deleteVersion)

	r.Get(v1+"/tags", a.listTags)
	r.Post(v1+"/tags", a.createTag)
	r.Get(v1+"/tags/{id}", a.getTag)
	r.Patch(v1+"/tags/{id}", a.updateTag)
	r.Delete(v1+"/tags/{id}", a.deleteTag)

	r.Get(v1+"/environments", a.listEnvironments)
	r.Post(v1+"/environments", a.createEnvironment)
	r.Get(v1+"/environments/{id}", a.getEnvironment)
	r.Patch(v1+"/environments/{id}", a.updateEnvironment)
	r.Delete(v1+"/environments/{id}", a.deleteEnvironment)

	r.Get(v1+"/deployments", a.listDeployments)
	r.Post(v1+"/deployments", a.recordDeployment)
	r.Get(v1+"/deployments/current", a.currentDeployments)
	r.Get(v1+"/deployments/{id}", a.getDeployment)

	r.Get(v1+"/activity", a.listActivity)
}

// pathID parses the path parameter param strictly (a canonical positive
// int64); anything else is NotFound(entity), exactly like an absent one.
func pathID(r *http.Request, param, entity string) (int64, error) {
	id, ok := parseID(chi.URLParam(r, param))
	if !ok {
		return 0, domain.NotFound(entity)
	}
	return id, nil
}

// pathIDs parses two path parameters with pathID.
func pathIDs(r *http.Request, param1, entity1, param2, entity2 string) (int64, int64, error) {
	id1, err := pathID(r, param1, entity1)
	if err != nil {
		return 0, 0, err
	}
	id2, err := pathID(r, param2, entity2)
	if err != nil {
		return 0, 0, err
	}
	return id1, id2, nil
}

// requireNoBody refuses a request body on an endpoint that takes none (a
// client that sends one expects it to mean something): 400, or 413 over the
// body limit.
func requireNoBody(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	var b [1]byte
	n, err := io.ReadFull(r.Body, b[:])
	if n > 0 {
		return badRequest("", "this request takes no body")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return payloadTooLarge(mbe.Limit)
	}
	return nil
}

// location sets the Location header of a created resource.
func location(w http.ResponseWriter, path string, id int64) {
	w.Header().Set("Location", path+"/"+strconv.FormatInt(id, 10))
}

// noContent answers 204, or the problem of err.
func (a *api) noContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// PATCH field conversions. A field of a PATCH body is absent, null, or a
// value (optional).

// notNull is a field that may be absent but not null: nil when absent, a 422
// naming the field when null.
func notNull[T any](o optional[T], field string) (*T, error) {
	if !o.Set {
		return nil, nil
	}
	if o.Null {
		return nil, domain.Invalid(field, "%s cannot be null", field)
	}
	v := o.Value
	return &v, nil
}

// nullMeansEmpty is a field whose null is its empty value ("" for a text,
// no tags): nil when absent.
func nullMeansEmpty[T any](o optional[T]) *T {
	if !o.Set {
		return nil
	}
	v := o.Value // the zero value when null
	return &v
}

// nullable is a nullable field: unchanged when absent, cleared when null.
func nullable[T any](o optional[T]) app.Optional[T] {
	switch {
	case !o.Set:
		return app.Optional[T]{}
	case o.Null:
		return app.Optional[T]{Set: true}
	}
	v := o.Value
	return app.Optional[T]{Set: true, Value: &v}
}

// principalCompany is the caller's company, for user DTOs.
func principalCompany(r *http.Request) tenancy.CompanyID {
	p, _ := app.PrincipalFromContext(r.Context())
	return p.CompanyID
}
