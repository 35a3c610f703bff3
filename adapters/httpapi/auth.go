package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

// maxTokenLen bounds a bearer token before any work is done on it.
const maxTokenLen = 8 << 10

// Challenges sent with 401 answers (RFC 6750 §3).
const (
	challengeMissing = `Bearer realm="schemata"`
	challengeInvalid = `Bearer realm="schemata", error="invalid_token"`
	challengeBadReq  = `Bearer realm="schemata", error="invalid_request"`
)

// adminDigest is the SHA-256 of the configured admin token. Comparing
// fixed-length digests with subtle.ConstantTimeCompare takes the same time
// whatever the presented token's length or content.
type adminDigest struct {
	enabled bool
	sum     [sha256.Size]byte
}

func newAdminDigest(token string) adminDigest {
	if token == "" {
		return adminDigest{}
	}
	return adminDigest{enabled: true, sum: sha256.Sum256([]byte(token))}
}

func (d adminDigest) matches(token string) bool {
	if !d.enabled {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], d.sum[:]) == 1
}

// bearerToken extracts the token of "Authorization: Bearer <token>". present
// reports whether any Authorization header was sent; ok whether it was one
// well-formed bearer credential.
func bearerToken(r *http.Request) (token string, present, ok bool) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", false, false
	}
	if len(values) > 1 {
		return "", true, false
	}
	scheme, rest, found := strings.Cut(values[0], " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", true, false
	}
	token = strings.TrimLeft(rest, " ")
	if token == "" || len(token) > maxTokenLen || strings.ContainsAny(token, " \t\r\n") {
		return "", true, false
	}
	return token, true, true
}

// authenticate resolves the caller from the bearer token, if one is sent: the
// platform admin token (when configured) or an access token verified by
// app.Auth.Authenticate (signature, claims, company and user still existing).
// No Authorization header leaves the request anonymous (handlers and use
// cases decide); a malformed header or a bad token is a 401 at once.
func (a *api) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, present, ok := bearerToken(r)
		if !present {
			next.ServeHTTP(w, r)
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", challengeBadReq)
			writeProblem(w, newProblem(http.StatusUnauthorized, string(domain.CodeUnauthenticated),
				"the Authorization header must be a single \"Bearer <token>\""))
			return
		}
		var p app.Principal
		if a.admin.matches(token) {
			p = app.Principal{PlatformAdmin: true}
		} else {
			var err error
			p, err = a.svc.Auth.Authenticate(r.Context(), token)
			if err != nil {
				if domain.IsCode(err, domain.CodeUnauthenticated) {
					w.Header().Set("WWW-Authenticate", challengeInvalid)
					writeProblem(w, newProblem(http.StatusUnauthorized, string(domain.CodeUnauthenticated), "invalid or expired token"))
					return
				}
				a.fail(w, r, err)
				return
			}
		}
		if ri := reqInfoFrom(r.Context()); ri != nil {
			ri.setPrincipal(p.CompanyID, p.PlatformAdmin)
		}
		next.ServeHTTP(w, r.WithContext(app.WithPrincipal(r.Context(), p)))
	})
}

// requireAuth answers 401 for an anonymous request, before its body is read.
func requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := app.PrincipalFromContext(r.Context()); !ok {
			w.Header().Set("WWW-Authenticate", challengeMissing)
			writeProblem(w, newProblem(http.StatusUnauthorized, string(domain.CodeUnauthenticated), "authentication required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminEnabled hides the platform admin endpoints when no admin token is
// configured: they answer 404, exactly like a route that does not exist, so a
// deployment without ADMIN_TOKEN exposes no admin surface at all (a 403 would
// advertise an endpoint nobody can ever use).
func (a *api) adminEnabled(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.admin.enabled {
			a.notFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
