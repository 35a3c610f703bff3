package tenancy

import "time"

// TenantStatus is where one tenant stands in the fleet migration ledger.
type TenantStatus struct {
	CompanyID CompanyID
	Name      string
	Version   int64  // recorded in the ledger
	Latest    int64  // of the migration set in use
	Status    string // "ok", "failed", "pending" (behind latest, not failed), "missing" (no ledger row)
	Error     string
	Duration  time.Duration
	UpdatedAt time.Time
}

// Plan is one tenant's planned migration in a fleet run.
type Plan struct {
	CompanyID CompanyID
	From, To  int64
}
