package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/schemata/schemata/tenancy"
)

type tenantStatusJSON struct {
	CompanyID  int64     `json:"company_id"`
	Name       string    `json:"name"`
	Version    int64     `json:"version"`
	Latest     int64     `json:"latest"`
	Status     string    `json:"status"`
	Error      string    `json:"error"`
	DurationMS int64     `json:"duration_ms"`
	UpdatedAt  time.Time `json:"updated_at"`
}

type fleetStatusJSON struct {
	Tenants []tenantStatusJSON `json:"tenants"`
	Summary map[string]int     `json:"summary"`
}

// fleetStatus: GET /api/v1/admin/tenants/status → where every tenant stands
// in the migration ledger (the same data as `schemata tenants status --json`).
func (a *api) fleetStatus(w http.ResponseWriter, r *http.Request) {
	for name := range r.URL.Query() {
		a.fail(w, r, badRequest(name, "unknown query parameter "+strconv.Quote(name)))
		return
	}
	st, err := a.svc.Fleet.Status(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := fleetStatusJSON{Tenants: make([]tenantStatusJSON, 0, len(st)),
		Summary: map[string]int{tenancy.StatusOK: 0, tenancy.StatusPending: 0, tenancy.StatusFailed: 0, tenancy.StatusMissing: 0}}
	for _, t := range st {
		out.Summary[t.Status]++
		out.Tenants = append(out.Tenants, tenantStatusJSON{CompanyID: int64(t.CompanyID), Name: t.Name, Version: t.Version,
			Latest: t.Latest, Status: t.Status, Error: t.Error, DurationMS: t.Duration.Milliseconds(), UpdatedAt: t.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}
