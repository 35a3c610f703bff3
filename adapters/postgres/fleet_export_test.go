package postgres

import "github.com/schemata/schemata/tenancy"

// SetBeforeMessage installs the fleet migrator's fast-path hook, called before
// message i of tenant id's transaction is sent.
func SetBeforeMessage(m *TenantMigrator, f func(id tenancy.CompanyID, i int)) { m.beforeMessage = f }

// FleetLockKey is the two-int4 key of the fleet lock.
func FleetLockKey() (int32, int32) { return publicLockClass, fleetLockObject }
