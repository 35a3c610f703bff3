package httpapi

import (
	"net/http"
	"strconv"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

const teamsPath = v1 + "/teams"

// listTeams: GET /api/v1/teams?limit&cursor.
func (a *api) listTeams(w http.ResponseWriter, r *http.Request) {
	lr, err := a.parseList(r, "teams", 1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ts, err := a.svc.Teams.List(r.Context(), lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(lr, ts, toTeamJSON, teamID))
}

// createTeam: POST /api/v1/teams {"name","description"} → 201 team. A name
// taken case-insensitively is a 409.
func (a *api) createTeam(w http.ResponseWriter, r *http.Request) {
	var in teamRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.svc.Teams.Create(r.Context(), in.Name, in.Description)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	location(w, teamsPath, t.ID)
	writeJSON(w, http.StatusCreated, toTeamJSON(t))
}

// getTeam: GET /api/v1/teams/{id}.
func (a *api) getTeam(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "team")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.svc.Teams.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTeamJSON(t))
}

// updateTeam: PATCH /api/v1/teams/{id} {"name","description"} → 200 team.
// A null name is refused; a null description clears it.
func (a *api) updateTeam(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "team")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in teamPatchRequest
	if err := readJSON(r, &in, mediaJSON, mediaMergePatch); err != nil {
		a.fail(w, r, err)
		return
	}
	patch := app.TeamPatch{Description: nullMeansEmpty(in.Description)}
	if patch.Name, err = notNull(in.Name, "name"); err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.svc.Teams.Update(r.Context(), id, patch)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTeamJSON(t))
}

// deleteTeam: DELETE /api/v1/teams/{id} → 204; 409 while it owns components.
func (a *api) deleteTeam(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "team")
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = a.svc.Teams.Delete(r.Context(), id)
	}
	a.noContent(w, r, err)
}

// listMembers: GET /api/v1/teams/{id}/members?limit&cursor → users.
func (a *api) listMembers(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "team")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	lr, err := a.parseList(r, "teams/"+strconv.FormatInt(id, 10)+"/members", 1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	us, err := a.svc.Teams.ListMembers(r.Context(), id, lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	company := principalCompany(r)
	writeJSON(w, http.StatusOK, newList(lr, us, func(u domain.User) userJSON { return toUserJSON(u, company) }, userID))
}

// addMember: POST /api/v1/teams/{id}/members {"user_id"} → 201
// {"team_id","user_id"}. Adding a member twice is harmless; a user that does
// not exist in the tenant is a 422 naming user_id.
func (a *api) addMember(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "team")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in memberRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.UserID == nil {
		a.fail(w, r, domain.Invalid("user_id", "user_id is required"))
		return
	}
	if *in.UserID <= 0 {
		a.fail(w, r, domain.Invalid("user_id", "user_id must be a positive id"))
		return
	}
	if err := a.svc.Teams.AddMember(r.Context(), id, *in.UserID); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, memberJSON{TeamID: id, UserID: *in.UserID})
}

// removeMember: DELETE /api/v1/teams/{id}/members/{user_id} → 204; 404 when
// the user is not a member.
func (a *api) removeMember(w http.ResponseWriter, r *http.Request) {
	id, user, err := pathIDs(r, "id", "team", "user_id", "member")
	if err == nil {
		err = requireNoBody(r)
	}
	if err == nil {
		err = a.svc.Teams.RemoveMember(r.Context(), id, user)
	}
	a.noContent(w, r, err)
}
