// Package app holds Schemata's use cases: companies (platform admin), auth
// (registration, invitations, signup, login, token authentication, the
// principal cache), per-tenant reference data, and the service catalog of a
// tenant (users, teams, components with their dependencies and versions, tags,
// environments, deployments, activity).
//
// Every tenant use case authorises the caller from PrincipalFromContext:
// viewers read; users also write catalog data; admins also manage users,
// invitations and reference data and read the activity log; the platform
// admin has no tenant and is refused. Reads run in UnitOfWork.ReadTenant;
// every write runs in one UnitOfWork.WithinTenant together with the
// domain.Activity that records it. Bad input is a *domain.Error naming the
// JSON field, with nothing changed.
//
// It depends only on domain, ports and tenancy; adapters drive it (httpapi,
// cmd) or are driven by it (postgres, token, password, ratelimit) through
// ports. It is tested with the moq fakes of ports/portsmock, without a
// database.
package app
