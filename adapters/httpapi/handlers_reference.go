package httpapi

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

// refHandlers serve one kind of a tenant's reference data under base
// (/api/v1/cloud-providers, …). Every id resolves inside the caller's tenant.
type refHandlers struct {
	*api
	kind domain.RefKind
	base string // the collection's path
	name string // the list's cursor name
}

// itemID parses {id} strictly; anything but a canonical positive integer is a
// 404, like an absent item.
func (h refHandlers) itemID(r *http.Request) (int64, error) {
	id, ok := parseID(chi.URLParam(r, "id"))
	if !ok {
		return 0, domain.NotFound(h.kind.Singular())
	}
	return id, nil
}

// list: GET base?limit&cursor.
func (h refHandlers) list(w http.ResponseWriter, r *http.Request) {
	lr, err := h.parseList(r, h.name, 1)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items, err := h.svc.Reference.List(r.Context(), h.kind, lr.page())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(lr, items, toRefItemJSON, refItemID))
}

// create: POST base {"name","description"} → 201 (admin only).
func (h refHandlers) create(w http.ResponseWriter, r *http.Request) {
	var in refItemRequest
	if err := readJSON(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	it, err := h.svc.Reference.Create(r.Context(), h.kind, in.Name, in.Description)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", h.base+"/"+strconv.FormatInt(it.ID, 10))
	writeJSON(w, http.StatusCreated, toRefItemJSON(it))
}

// get: GET base/{id}.
func (h refHandlers) get(w http.ResponseWriter, r *http.Request) {
	id, err := h.itemID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	it, err := h.svc.Reference.Get(r.Context(), h.kind, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRefItemJSON(it))
}

// update: PATCH base/{id} with name and/or description (admin only). A null
// name is refused; a null description clears it.
func (h refHandlers) update(w http.ResponseWriter, r *http.Request) {
	id, err := h.itemID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in refPatchRequest
	if err := readJSON(r, &in, mediaJSON, mediaMergePatch); err != nil {
		h.fail(w, r, err)
		return
	}
	var patch app.RefPatch
	if in.Name.Set {
		if in.Name.Null {
			h.fail(w, r, domain.Invalid("name", "name cannot be null"))
			return
		}
		patch.Name = &in.Name.Value
	}
	if in.Description.Set {
		patch.Description = &in.Description.Value // "" when null
	}
	it, err := h.svc.Reference.Update(r.Context(), h.kind, id, patch)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRefItemJSON(it))
}

// delete: DELETE base/{id} → 204 (admin only).
func (h refHandlers) delete(w http.ResponseWriter, r *http.Request) {
	id, err := h.itemID(r)
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = h.svc.Reference.Delete(r.Context(), h.kind, id)
	}
	h.noContent(w, r, err)
}
