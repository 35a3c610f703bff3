package app

import (
	"context"

	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// Fleet exposes fleet status to the platform admin.
type Fleet struct {
	status ports.FleetStatus
}

// NewFleet wires the fleet use cases.
func NewFleet(status ports.FleetStatus) *Fleet { return &Fleet{status: status} }

// Status returns every tenant's migration status (platform admin only).
func (f *Fleet) Status(ctx context.Context) ([]tenancy.TenantStatus, error) {
	if _, err := requirePlatformAdmin(ctx, "read the fleet status"); err != nil {
		return nil, err
	}
	return f.status.Status(ctx)
}
