package httpapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPIDocument is the OpenAPI 3.1 description of every endpoint of the
// API, served verbatim at GET /openapi.json. openapi_test.go drives the real
// server and validates every request and response against it, and checks
// that its paths and the router's routes are the same set, so the document
// cannot drift from the code.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns a copy of the embedded OpenAPI 3.1 document, for
// embedders that publish or merge it.
func OpenAPIDocument() []byte {
	return append([]byte(nil), openAPIDocument...)
}

// openAPIHandler serves the document as application/json. It needs no
// authentication: the document describes the API, not any tenant's data.
func openAPIHandler() http.Handler {
	length := strconv.Itoa(len(openAPIDocument))
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", mediaJSON)
		h.Set("Content-Length", length)
		// The document changes only with the binary: caches may keep it
		// briefly (securityHeaders set no-store for API answers).
		h.Set("Cache-Control", "public, max-age=300")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(openAPIDocument)
	})
}
