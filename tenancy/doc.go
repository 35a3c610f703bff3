// Package tenancy is the reusable, database-agnostic core of Schemata's
// schema-per-tenant model: the CompanyID and the schema name derived from it,
// context helpers, the tenant migration set, the tenant directory cache and the
// fleet runner. It sits beside domain at the centre of the hexagon and imports
// only the standard library.
package tenancy
