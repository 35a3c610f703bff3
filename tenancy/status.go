package tenancy

import "time"

// Values of TenantStatus.Status.
const (
	// StatusOK: the tenant's last migration run succeeded and it is at (or,
	// migrated by a newer program, beyond) the latest version.
	StatusOK = "ok"
	// StatusFailed: the tenant's last migration run failed; Error says why.
	StatusFailed = "failed"
	// StatusPending: the tenant is behind the latest version and its last run
	// did not fail.
	StatusPending = "pending"
	// StatusMissing: the fleet ledger has no row for the tenant.
	StatusMissing = "missing"
)

// TenantStatus is where one tenant stands in the fleet, as recorded in the
// fleet ledger.
type TenantStatus struct {
	CompanyID CompanyID
	Name      string
	Version   int64         // recorded in the ledger (0 when Status is missing)
	Latest    int64         // of the migration set in use
	Status    string        // StatusOK, StatusFailed, StatusPending or StatusMissing
	Error     string        // the last failure, when Status is failed
	Duration  time.Duration // of the tenant's last migration run
	UpdatedAt time.Time     // when the ledger row last changed (zero when missing)
}

// LedgerStatus derives TenantStatus.Status from a ledger row: recorded tells
// whether the row exists, version and status ("ok" or "failed") are its
// columns and latest is the latest version of the migration set in use.
func LedgerStatus(recorded bool, version int64, status string, latest int64) string {
	switch {
	case !recorded:
		return StatusMissing
	case status == StatusFailed:
		return StatusFailed
	case version < latest:
		return StatusPending
	default:
		return StatusOK
	}
}

// Plan is one tenant's planned migration: from the version recorded in the
// fleet ledger (0 when it has no row) to To, the latest version.
type Plan struct {
	CompanyID CompanyID
	From, To  int64
}
