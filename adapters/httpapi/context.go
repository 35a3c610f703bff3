package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"github.com/schemata/schemata/tenancy"
)

// reqInfo is the per-request record shared by the middleware: the request id
// (fixed when the request enters) and the authenticated company, which the
// authentication middleware sets deeper in the chain and the access log reads
// after the handler returns.
type reqInfo struct {
	id string

	mu      sync.Mutex
	company tenancy.CompanyID
	admin   bool
}

func (ri *reqInfo) setPrincipal(company tenancy.CompanyID, admin bool) {
	ri.mu.Lock()
	ri.company, ri.admin = company, admin
	ri.mu.Unlock()
}

func (ri *reqInfo) principal() (tenancy.CompanyID, bool) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	return ri.company, ri.admin
}

type reqInfoKey struct{}

func withReqInfo(ctx context.Context, ri *reqInfo) context.Context {
	return context.WithValue(ctx, reqInfoKey{}, ri)
}

func reqInfoFrom(ctx context.Context) *reqInfo {
	ri, _ := ctx.Value(reqInfoKey{}).(*reqInfo)
	return ri
}

// RequestIDFromContext returns the id of the HTTP request that ctx belongs to
// (the accepted X-Request-Id or a generated one).
func RequestIDFromContext(ctx context.Context) (string, bool) {
	if ri := reqInfoFrom(ctx); ri != nil {
		return ri.id, true
	}
	return "", false
}

// companyForLog returns the tenant to name in logs: the one in ctx (set by
// app.WithPrincipal, or by any non-HTTP caller through tenancy.WithCompany),
// else the one the authentication middleware recorded for the request.
func companyForLog(ctx context.Context) (tenancy.CompanyID, bool) {
	if id, ok := tenancy.CompanyFromContext(ctx); ok {
		return id, true
	}
	if ri := reqInfoFrom(ctx); ri != nil {
		if id, _ := ri.principal(); id.Valid() {
			return id, true
		}
	}
	return 0, false
}

// maxRequestIDLen bounds an accepted incoming X-Request-Id.
const maxRequestIDLen = 64

// validRequestID accepts 1–64 characters of [A-Za-z0-9._:-]: enough for
// UUIDs, ULIDs and the ids of common proxies, nothing that could break a log
// line or a header.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 16 random bytes, hex-encoded.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}
