package postgres

import "github.com/schemata/schemata/tenancy"

// SetFailAfter installs the provisioner's failpoint hook.
func SetFailAfter(p *Provisioner, f func(step string) error) { p.failAfter = f }

// SetAfterPass installs the fleet migrator's end-of-pass hook.
func SetAfterPass(m *TenantMigrator, f func(pass int)) { m.afterPass = f }

// TenantLockKey exposes the per-tenant advisory lock key.
func TenantLockKey(id tenancy.CompanyID) int64 { return tenantLockKey(id) }
