// Package postgres is the PostgreSQL adapter of Schemata (bun + pgdialect over
// pgdriver): the tenant unit of work, the repositories, the provisioner, the
// public and tenant migrators and the tenant directory source. It implements
// the interfaces of package ports and depends inward on domain, ports and
// tenancy; persistence structs with bun tags live here only and are mapped to
// domain types explicitly.
package postgres
