package httpapi

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// companyFromPath parses {id} strictly; anything but a canonical positive
// integer is a 404, like an absent company.
func companyFromPath(r *http.Request) (tenancy.CompanyID, error) {
	id, err := tenancy.ParseCompanyID(chi.URLParam(r, "id"))
	if err != nil {
		return 0, domain.NotFound("company")
	}
	return id, nil
}

// createCompany: POST /api/v1/companies {"name"} → 201 company.
func (a *api) createCompany(w http.ResponseWriter, r *http.Request) {
	var in companyRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.svc.Companies.Create(r.Context(), in.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", adminPathPrefix+"/"+strconv.FormatInt(c.ID, 10))
	writeJSON(w, http.StatusCreated, toCompanyJSON(c))
}

// listCompanies: GET /api/v1/companies?limit&cursor → a page of companies.
func (a *api) listCompanies(w http.ResponseWriter, r *http.Request) {
	lr, err := a.parseList(r, "companies", 1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cs, err := a.svc.Companies.List(r.Context(), lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(lr, cs, toCompanyJSON, companyID))
}

// getCompany: GET /api/v1/companies/{id}.
func (a *api) getCompany(w http.ResponseWriter, r *http.Request) {
	id, err := companyFromPath(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.svc.Companies.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toCompanyJSON(c))
}

// deleteCompany: DELETE /api/v1/companies/{id} → 204; 409 while it has users.
func (a *api) deleteCompany(w http.ResponseWriter, r *http.Request) {
	id, err := companyFromPath(r)
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = a.svc.Companies.Delete(r.Context(), id)
	}
	a.noContent(w, r, err)
}
