// Package httpapi is the driving HTTP adapter of Schemata: a chi router whose
// handlers turn HTTP requests into calls of the app use cases (companies,
// auth, reference data, and the tenant catalog: users, teams, components and
// their dependencies and versions, tags, environments, deployments, activity)
// and their results into JSON. It owns the HTTP concerns only: routing,
// bearer-token authentication (the platform admin token and access tokens
// verified by app.Auth), request ids, structured access logs, body size
// limits, strict JSON decoding (PATCH bodies tell an absent field from null),
// strict path ids, validated list filters, HMAC-signed pagination cursors
// bound to their list and tenant, RFC 9457 problem+json errors and the
// OpenAPI document. It depends inward on app, domain, ports and tenancy; HTTP
// DTOs live here and nowhere else. module.go is the only file that imports fx.
package httpapi
