package httpapi

import (
	"net/http"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

// listUsers: GET /api/v1/users?limit&cursor → the tenant's users (admin).
func (a *api) listUsers(w http.ResponseWriter, r *http.Request) {
	lr, err := a.parseList(r, "users", 1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	us, err := a.svc.Users.List(r.Context(), lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	company := principalCompany(r)
	writeJSON(w, http.StatusOK, newList(lr, us, func(u domain.User) userJSON { return toUserJSON(u, company) }, userID))
}

// getUser: GET /api/v1/users/{id} (admin, or the user itself).
func (a *api) getUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.svc.Users.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u, principalCompany(r)))
}

// updateUser: PATCH /api/v1/users/{id} {"name","role"} → 200 user. An admin
// renames and changes roles (demoting the last admin is a 409); a user
// renames itself. Neither field may be null.
func (a *api) updateUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in userPatchRequest
	if err := readJSON(r, &in, mediaJSON, mediaMergePatch); err != nil {
		a.fail(w, r, err)
		return
	}
	var patch app.UserPatch
	if patch.Name, err = notNull(in.Name, "name"); err != nil {
		a.fail(w, r, err)
		return
	}
	if patch.Role, err = notNull(in.Role, "role"); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.svc.Users.Update(r.Context(), id, patch)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u, principalCompany(r)))
}

// deleteUser: DELETE /api/v1/users/{id} → 204 (admin). The last admin is a
// 409; the email becomes free to register again.
func (a *api) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = a.svc.Users.Delete(r.Context(), id)
	}
	a.noContent(w, r, err)
}

// changePassword: PUT /api/v1/auth/password {"current_password",
// "new_password"} → 204. The caller changes its own password.
func (a *api) changePassword(w http.ResponseWriter, r *http.Request) {
	var in passwordRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	a.noContent(w, r, a.svc.Users.ChangePassword(r.Context(), in.CurrentPassword, in.NewPassword))
}
