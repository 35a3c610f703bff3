// Package app holds Schemata's use cases: companies (platform admin), auth
// (registration, invitations, signup, login, token authentication) and
// per-tenant reference data. It depends only on domain, ports and tenancy;
// adapters drive it (httpapi, cmd) or are driven by it (postgres, token,
// password, ratelimit) through ports. It is tested with the moq fakes of
// ports/portsmock, without a database.
package app
