package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

// DefaultMaxBodyBytes is the request body limit when Config.MaxBodyBytes is
// not set: 1 MiB.
const DefaultMaxBodyBytes int64 = 1 << 20

// readyTimeout bounds the database ping of GET /readyz.
const readyTimeout = 2 * time.Second

// Config tunes the HTTP API.
type Config struct {
	// AdminToken authorises the platform admin endpoints as
	// "Authorization: Bearer <AdminToken>". Empty disables them (404).
	AdminToken string
	// MaxBodyBytes caps request bodies (413 beyond); <= 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// SignupEnabled allows POST /api/v1/signup. It should follow the same
	// setting as app.AuthConfig.SignupEnabled; the endpoint works only when both
	// allow it, and answers 403 otherwise.
	SignupEnabled bool
	// CursorKey signs pagination cursors (HMAC-SHA256). Every process serving
	// the same clients needs the same key so that a cursor issued by one is
	// accepted by the others; cmd derives it from the JWT secret. Empty means a
	// random key per process (cursors then die with the process).
	CursorKey []byte
}

// Services are the use cases the handlers drive. Every field is required.
type Services struct {
	Companies    *app.Companies
	Auth         *app.Auth
	Reference    *app.Reference
	Users        *app.Users
	Teams        *app.Teams
	Components   *app.Components
	Tags         *app.Tags
	Environments *app.Environments
	Deployments  *app.Deployments
	Activity     *app.Activity
	Fleet        *app.Fleet
	Pinger       ports.Pinger
}

// complete reports whether every service is set.
func (s Services) complete() bool {
	return s.Companies != nil && s.Auth != nil && s.Reference != nil && s.Users != nil && s.Teams != nil &&
		s.Components != nil && s.Tags != nil && s.Environments != nil && s.Deployments != nil &&
		s.Activity != nil && s.Fleet != nil && s.Pinger != nil
}

// api holds what the handlers share.
type api struct {
	cfg     Config
	svc     Services
	log     *slog.Logger
	admin   adminDigest
	cursors cursorCodec
	mux     *chi.Mux
}

// v1 prefixes every API route; adminPathPrefix the platform admin ones.
const (
	v1              = "/api/v1"
	adminPathPrefix = v1 + "/companies"
	adminOpsPrefix  = v1 + "/admin"
)

// refKinds maps the URL segment of each reference kind to its domain kind.
var refKinds = []struct {
	segment string
	kind    domain.RefKind
}{
	{"cloud-providers", domain.CloudProviders},
	{"registry-providers", domain.RegistryProviders},
	{"service-types", domain.ServiceTypes},
}

// NewRouter returns the HTTP handler of the whole API. log receives access
// logs and server-side failures (nil means slog.Default()); wrap its handler
// with NewLogHandler so that logs written by the use cases carry the request
// id and company id too. It panics when a service is missing (a wiring bug).
func NewRouter(cfg Config, svc Services, log *slog.Logger) http.Handler {
	if !svc.complete() {
		panic("httpapi: NewRouter needs every field of Services")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if log == nil {
		log = slog.Default()
	}
	key := cfg.CursorKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails (Go ≥ 1.24)
	}
	a := &api{cfg: cfg, svc: svc, log: log, admin: newAdminDigest(cfg.AdminToken),
		cursors: cursorCodec{key: bytes.Clone(key)}}
	if a.admin.enabled && len(cfg.AdminToken) < 32 {
		log.Warn("httpapi: ADMIN_TOKEN is shorter than 32 characters; use a long random value")
	}

	r := chi.NewRouter()
	a.mux = r
	r.Use(requestID, a.accessLog, a.recoverer, securityHeaders, a.limitBody, middleware.GetHead)
	r.NotFound(a.notFound)
	r.MethodNotAllowed(a.methodNotAllowed)

	r.Get("/healthz", a.healthz)
	r.Get("/readyz", a.readyz)
	r.Get("/openapi.json", openAPIHandler().ServeHTTP)

	// Credentials are in the body: the Authorization header is ignored.
	r.Post(v1+"/auth/login", a.login)
	r.Post(v1+"/signup", a.signup)

	r.Group(func(r chi.Router) {
		r.Use(a.authenticate)
		// Anonymous callers may register with an invitation token.
		r.Post(v1+"/auth/register", a.register)

		r.Group(func(r chi.Router) {
			r.Use(requireAuth)
			r.Get(v1+"/auth/me", a.me)
			r.Put(v1+"/auth/password", a.changePassword)
			r.Post(v1+"/invitations", a.invite)
			for _, k := range refKinds {
				h := refHandlers{api: a, kind: k.kind, base: v1 + "/" + k.segment, name: k.segment}
				r.Get(h.base, h.list)
				r.Post(h.base, h.create)
				r.Get(h.base+"/{id}", h.get)
				r.Patch(h.base+"/{id}", h.update)
				r.Delete(h.base+"/{id}", h.delete)
			}
			a.catalogRoutes(r)
		})
	})

	r.Group(func(r chi.Router) {
		r.Use(a.adminEnabled, a.authenticate, requireAuth)
		r.Post(adminPathPrefix, a.createCompany)
		r.Get(adminPathPrefix, a.listCompanies)
		r.Get(adminPathPrefix+"/{id}", a.getCompany)
		r.Delete(adminPathPrefix+"/{id}", a.deleteCompany)
		r.Get(adminOpsPrefix+"/tenants/status", a.fleetStatus)
	})
	return r
}

// notFound answers unknown routes.
func (a *api) notFound(w http.ResponseWriter, _ *http.Request) {
	writeProblem(w, newProblem(http.StatusNotFound, codeRouteNotFound, "no such resource"))
}

// allowProbe lists the methods tried when computing an Allow header (HEAD
// follows GET).
var allowProbe = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodNotAllowed answers 405 with the Allow header of the route, or 404
// when no method at all is routed for the path (chi also lands here for
// methods it does not know).
func (a *api) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	if !a.admin.enabled && (strings.HasPrefix(path, adminPathPrefix) || strings.HasPrefix(path, adminOpsPrefix)) {
		a.notFound(w, r) // disabled admin endpoints do not exist, whatever the method
		return
	}
	var allowed []string
	for _, m := range allowProbe {
		if a.mux.Match(chi.NewRouteContext(), m, path) {
			allowed = append(allowed, m)
			if m == http.MethodGet {
				allowed = append(allowed, http.MethodHead) // served by GetHead
			}
		}
	}
	if len(allowed) == 0 {
		a.notFound(w, r)
		return
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeProblem(w, newProblem(http.StatusMethodNotAllowed, codeMethodNotAllowed,
		"method "+r.Method+" is not allowed here; allowed: "+strings.Join(allowed, ", ")))
}

type statusJSON struct {
	Status string `json:"status"`
}

// healthz answers 200 while the process serves requests.
func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, statusJSON{Status: "ok"})
}

// readyz answers 200 when the database answers within readyTimeout, 503
// otherwise.
func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := a.svc.Pinger.Ping(ctx); err != nil {
		a.log.WarnContext(r.Context(), "readiness check failed", "err", err)
		writeProblem(w, newProblem(http.StatusServiceUnavailable, string(domain.CodeUnavailable), "the database does not answer"))
		return
	}
	writeJSON(w, http.StatusOK, statusJSON{Status: "ok"})
}
