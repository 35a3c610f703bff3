package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/httpapi"
	"github.com/schemata/schemata/adapters/password"
	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/adapters/postgres/pgtest"
	"github.com/schemata/schemata/adapters/ratelimit"
	"github.com/schemata/schemata/adapters/token"
	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/migrations"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// The token settings of every e2e stack.
const (
	e2eIssuer   = "schemata-e2e"
	e2eAudience = "schemata-api"
	// e2eLoginBurst is the failed logins an account may have before 429.
	e2eLoginBurst = 3
)

// testClock is the real time plus an offset a test may move forward; every
// adapter and use case of a stack shares it.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

var _ ports.Clock = (*testClock)(nil)

// hasherOnce shares one argon2id hasher (production parameters, bounded
// concurrency) across the stacks of this test binary: its dummy hash costs a
// hash, and one semaphore keeps parallel tests from oversubscribing 2 CPUs.
var hasherOnce = sync.OnceValues(func() (*password.Hasher, error) { return password.New(password.Config{}) })

// stackOptions vary a stack.
type stackOptions struct {
	signup  bool
	noAdmin bool // leave ADMIN_TOKEN unset
}

// stack is the whole service wired by hand (no fx) on a fresh database and
// served by httptest.
type stack struct {
	t      *testing.T
	dsn    string
	db     *bun.DB
	srv    *httptest.Server
	clock  *testClock
	secret []byte
	tokens *token.Issuer
	svc    httpapi.Services
	cfg    httpapi.Config
	logs   *logBuffer
}

// newStack builds the stack on its own database (dropped when the test ends).
// Without PostgreSQL the test is skipped with one loud line, or fails under
// REQUIRE_DB=1 (pgtest).
func newStack(t *testing.T, opt stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	db, err := postgres.Open(dsn, postgres.Options{MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := postgres.MigratePublic(ctx, db, migrations.Public()); err != nil {
		t.Fatalf("migrate public: %v", err)
	}
	ts, err := postgres.LoadTenantSchema(migrations.Tenant(), postgres.ReferenceSeed)
	if err != nil {
		t.Fatalf("tenant schema: %v", err)
	}

	clock := &testClock{}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	issuer, err := token.New(token.Config{Secret: secret, Issuer: e2eIssuer, Audience: e2eAudience, TTL: time.Hour, Clock: clock})
	if err != nil {
		t.Fatalf("token issuer: %v", err)
	}
	hasher, err := hasherOnce()
	if err != nil {
		t.Fatalf("password hasher: %v", err)
	}
	limiter, err := ratelimit.New(ratelimit.Config{Burst: e2eLoginBurst, Every: time.Hour, Clock: clock})
	if err != nil {
		t.Fatalf("rate limiter: %v", err)
	}

	uow := postgres.NewUnitOfWork(db)
	prov := postgres.NewProvisioner(db, ts)
	companies := postgres.NewCompanyRepository(db)
	users := postgres.NewUserRepository(db)
	lookup := postgres.NewEmailLookup(db)
	refs := postgres.NewReferenceRepository(db)
	invitations := postgres.NewInvitationRepository(db)
	audit := postgres.NewAuditLog(db)
	activity := postgres.NewActivityLog(db)
	dir := tenancy.NewDirectory(companies, 0)
	// The production cache: a role change or a deletion through the API
	// invalidates it at once in this process.
	principals := app.NewPrincipalCache(app.DefaultPrincipalTTL, clock)

	auth := app.NewAuth(app.AuthDeps{UoW: uow, Directory: dir, Provisioner: prov, Users: users, Lookup: lookup,
		Invitations: invitations, Audit: audit, Activity: activity, Hasher: hasher, Tokens: issuer, Clock: clock, Limiter: limiter,
		Principals: principals},
		app.AuthConfig{SignupEnabled: opt.signup, DummyPHC: hasher.DummyPHC()})
	svc := httpapi.Services{
		Companies: app.NewCompanies(prov, companies, dir, users, audit),
		Auth:      auth,
		Reference: app.NewReference(uow, refs, activity),
		Users: app.NewUsers(uow, users, postgres.NewUserAdmin(db), lookup, hasher, activity, audit,
			principals),
		Teams: app.NewTeams(uow, postgres.NewTeamRepository(db), activity),
		Components: app.NewComponents(uow, postgres.NewComponentRepository(db), postgres.NewVersionRepository(db),
			activity),
		Tags:         app.NewTags(uow, postgres.NewTagRepository(db), activity),
		Environments: app.NewEnvironments(uow, postgres.NewEnvironmentRepository(db), activity),
		Deployments:  app.NewDeployments(uow, postgres.NewDeploymentRepository(db), clock, activity),
		Activity:     app.NewActivity(uow, activity),
		Fleet:        app.NewFleet(postgres.NewTenantMigrator(db, ts)),
		Pinger:       postgres.Pinger{DB: db},
	}
	cfg := httpapi.Config{AdminToken: testAdminToken, SignupEnabled: opt.signup}
	if opt.noAdmin {
		cfg.AdminToken = ""
	}
	logs := &logBuffer{}
	log := slog.New(httpapi.NewLogHandler(slog.NewJSONHandler(logs, nil)))
	srv := httptest.NewServer(httpapi.NewRouter(cfg, svc, log))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs)
		}
	})
	return &stack{t: t, dsn: dsn, db: db, srv: srv, clock: clock, secret: secret, tokens: issuer, svc: svc, cfg: cfg, logs: logs}
}

// on returns the stack bound to t, for use inside a subtest (failures must be
// reported on the subtest's own T).
func (s *stack) on(t *testing.T) *stack {
	c := *s
	c.t = t
	return &c
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// send performs one request and fails the test on a transport error. body
// may be nil or "" (none), a string or []byte sent as application/json,
// url.Values sent as a form, or any other value marshalled to JSON. header
// holds name, value pairs.
func (s *stack) send(method, path, bearer string, body any, header ...string) response {
	s.t.Helper()
	r, err := s.try(method, path, bearer, body, header...)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// try is send for goroutines: it returns transport errors instead of failing.
func (s *stack) try(method, path, bearer string, body any, header ...string) (response, error) {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		if b != "" {
			rd, ct = strings.NewReader(b), "application/json"
		}
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("read body: %w", err)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}, nil
}

// expect fails the test unless r has status; a problem status also needs a
// problem+json body with code (when code is not "").
func (s *stack) expect(r response, status int, code string) response {
	s.t.Helper()
	if r.status != status {
		s.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if status >= 400 {
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			s.t.Fatalf("Content-Type %q for a %d: %s", ct, status, r.body)
		}
		var p problemBody
		if err := json.Unmarshal(r.body, &p); err != nil || p.Status != status || (code != "" && p.Code != code) {
			s.t.Fatalf("problem %s, want status %d code %q (%v)", r.body, status, code, err)
		}
		if status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			s.t.Fatalf("401 without a Bearer challenge: %v", r.header)
		}
	}
	return r
}

// field returns the field named by a problem body.
func (r response) field() string {
	var p problemBody
	_ = json.Unmarshal(r.body, &p)
	return p.Field
}

func decodeAs[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

// JSON shapes the e2e tests read.
type (
	companyOut struct {
		ID        int64     `json:"id"`
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	}
	userOut struct {
		ID        int64     `json:"id"`
		Name      string    `json:"name"`
		Email     string    `json:"email"`
		Role      string    `json:"role"`
		CompanyID int64     `json:"company_id"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	tokenOut struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	invitationOut struct {
		ID        int64     `json:"id"`
		Email     string    `json:"email"`
		Role      string    `json:"role"`
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
)

// createCompany creates a company as the platform admin.
func (s *stack) createCompany(name string) tenancy.CompanyID {
	s.t.Helper()
	r := s.expect(s.send("POST", "/api/v1/companies", testAdminToken, map[string]string{"name": name}), 201, "")
	c := decodeAs[companyOut](s.t, r)
	return tenancy.CompanyID(c.ID)
}

// e2ePassword is the password of every user created by the helpers.
const e2ePassword = "correct horse battery staple"

// addUser registers a user as the platform admin and logs it in; it returns
// the user and its access token.
func (s *stack) addUser(company tenancy.CompanyID, email, role string) (userOut, string) {
	s.t.Helper()
	r := s.expect(s.send("POST", "/api/v1/auth/register", testAdminToken, map[string]any{
		"name": "User " + email, "email": email, "password": e2ePassword, "company_id": int64(company), "role": role,
	}), 201, "")
	u := decodeAs[userOut](s.t, r)
	return u, s.login(email, e2ePassword)
}

// login returns an access token for email.
func (s *stack) login(email, pw string) string {
	s.t.Helper()
	r := s.expect(s.send("POST", "/api/v1/auth/login", "", url.Values{"username": {email}, "password": {pw}}), 200, "")
	return decodeAs[tokenOut](s.t, r).AccessToken
}

// count runs a counting query against the database directly.
func (s *stack) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// tenantSchemas lists the company_<id> schemas that exist.
func (s *stack) tenantSchemas() []string {
	s.t.Helper()
	rows, err := s.db.QueryContext(context.Background(),
		`SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname LIKE 'company\_%' ORDER BY nspname`)
	if err != nil {
		s.t.Fatalf("schemas: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// usersWithEmail counts users with email (case-insensitively) across every
// tenant schema, and its rows in public.user_company_lookup.
func (s *stack) usersWithEmail(email string) (users, lookups int) {
	s.t.Helper()
	for _, schema := range s.tenantSchemas() {
		if _, ok := tenancy.ParseSchema(schema); !ok {
			s.t.Fatalf("unexpected schema %q", schema)
		}
		users += s.count(`SELECT count(*) FROM "`+schema+`".users WHERE lower(email) = lower(?)`, email)
	}
	lookups = s.count(`SELECT count(*) FROM public.user_company_lookup WHERE email = lower(?)`, email)
	return users, lookups
}
