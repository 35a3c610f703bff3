package httpapi

import "net/http"

// listActivity: GET /api/v1/activity?limit&cursor → the tenant's writes,
// newest first (admin).
func (a *api) listActivity(w http.ResponseWriter, r *http.Request) {
	lr, err := a.parseList(r, "activity", 1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	as, err := a.svc.Activity.List(r.Context(), lr.page())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(lr, as, toActivityJSON, activityID))
}
