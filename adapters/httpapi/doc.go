// Package httpapi is the driving HTTP adapter of Schemata: a chi router whose
// handlers turn HTTP requests into calls of the app use cases (app.Companies,
// app.Auth, app.Reference) and their results into JSON. It owns the HTTP
// concerns only: routing, bearer-token authentication (the platform admin
// token and access tokens verified by app.Auth), request ids, structured access
// logs, body size limits, strict JSON decoding, pagination cursors and RFC 9457
// problem+json errors. It depends inward on app, domain, ports and tenancy;
// HTTP DTOs live here and nowhere else. module.go is the only file that
// imports fx.
package httpapi
