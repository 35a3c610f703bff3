package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	oaerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/schemata/schemata/adapters/httpapi"
)

// The OpenAPI document (openapi.json) is checked three ways:
//
//   - TestOpenAPIDocument: GET /openapi.json serves it, and it is a valid
//     OpenAPI 3.1 document.
//   - TestOpenAPIRoutesMatchRouter: the router's routes and the document's
//     operations are the same set.
//   - TestOpenAPIConformance: a realistic story drives the real server (real
//     PostgreSQL) through every operation, and every request and response is
//     validated against the document by libopenapi-validator, which is wired
//     into the HTTP client as a RoundTripper.

// headerDocRejects marks a request the test sends on purpose outside the
// document (malformed JSON, an unknown field, no credentials, …). The
// validating transport removes it before the request leaves, and then
// requires that the document rejects the request and that the server answers
// it with a 4xx. Its value says why the request is invalid.
const headerDocRejects = "X-Test-Doc-Rejects"

// openAPI is the parsed document and its validators.
type openAPI struct {
	model *v3.Document
	// requests validates requests in strict mode: an undeclared query
	// parameter or body property, a body on an operation that takes none, a
	// credential of the wrong scheme are violations.
	requests validator.Validator
	// responses validates responses. Every response schema of the document
	// is closed (additionalProperties: false), so an undeclared member is a
	// violation without strict mode, whose walker would also flag the members
	// of free-form values (the served document itself).
	responses validator.Validator
	// doc is the document, for ValidateDocument.
	doc validator.Validator
}

// loadOpenAPI returns the embedded document parsed as OpenAPI 3.1 with its
// validators (built once per test binary; they are safe for concurrent use).
func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	oa, err := openAPIOnce()
	if err != nil {
		t.Fatal(err)
	}
	return oa
}

var openAPIOnce = sync.OnceValues(func() (openAPI, error) {
	build := func(opts ...config.Option) (validator.Validator, *v3.Document, error) {
		doc, err := libopenapi.NewDocument(httpapi.OpenAPIDocument())
		if err != nil {
			return nil, nil, fmt.Errorf("parse openapi.json: %w", err)
		}
		if v := doc.GetVersion(); v != "3.1.0" {
			return nil, nil, fmt.Errorf("openapi.json is OpenAPI %q, want 3.1.0", v)
		}
		model, err := doc.BuildV3Model()
		if err != nil {
			return nil, nil, fmt.Errorf("build the OpenAPI model: %w", err)
		}
		v, errs := validator.NewValidator(doc, append([]config.Option{
			config.WithFormatAssertions(),         // date-time, email, int64, uri are checked
			config.WithURLEncodedBodyValidation(), // the login form
			config.WithAuthenticationFunc(checkCredentialShape),
		}, opts...)...)
		if len(errs) > 0 {
			return nil, nil, fmt.Errorf("build the validator: %v", errs)
		}
		return v, &model.Model, nil
	}
	var (
		oa  openAPI
		err error
	)
	if oa.requests, oa.model, err = build(config.WithStrictMode(), config.WithRejectUndeclaredRequestBody()); err != nil {
		return oa, err
	}
	oa.responses, _, err = build()
	oa.doc = oa.responses
	return oa, err
})

// checkCredentialShape lets the validator tell the two bearer schemes apart:
// adminToken is the configured platform admin token, bearerAuth a JWT (three
// dot-separated parts). Whether a JWT is genuine is the server's business.
func checkCredentialShape(_ context.Context, in *config.AuthenticationInput) error {
	token, ok := strings.CutPrefix(in.Request.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return errors.New("no bearer credential")
	}
	switch in.SecuritySchemeName {
	case "adminToken":
		if token != testAdminToken {
			return errors.New("not the platform admin token")
		}
	case "bearerAuth":
		if strings.Count(token, ".") != 2 {
			return errors.New("not a JWT")
		}
	default:
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	return nil
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	oa := loadOpenAPI(t)
	model := oa.model
	if ok, errs := oa.doc.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("openapi.json is not valid OpenAPI 3.1: %s", describe(e))
		}
	}
	if model.Components == nil || model.Components.SecuritySchemes.GetOrZero("bearerAuth") == nil ||
		model.Components.SecuritySchemes.GetOrZero("adminToken") == nil {
		t.Error("the security schemes bearerAuth and adminToken are missing")
	}

	env := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
	w := env.do(call{method: "GET", path: "/openapi.json"})
	wantStatus(t, w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(w.Body.Bytes(), httpapi.OpenAPIDocument()) {
		t.Error("GET /openapi.json does not serve the embedded document")
	}
	var served struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &served); err != nil || served.OpenAPI != "3.1.0" {
		t.Errorf("served document: openapi %q, %v", served.OpenAPI, err)
	}
	if _, err := libopenapi.NewDocument(w.Body.Bytes()); err != nil {
		t.Errorf("the served document does not parse: %v", err)
	}
	// Every operation has an id of its own, a success answer, and problem
	// bodies for its errors.
	ids := map[string]operationKey{}
	for k, op := range documentedOperations(model) {
		if prev, dup := ids[op.OperationId]; dup || op.OperationId == "" {
			t.Errorf("%s: operationId %q is empty or also used by %s", k, op.OperationId, prev)
		}
		ids[op.OperationId] = k
		success := false
		for code, res := range op.Responses.Codes.FromOldest() {
			success = success || strings.HasPrefix(code, "2")
			if code >= "400" && (res.Content == nil || res.Content.GetOrZero("application/problem+json") == nil) {
				t.Errorf("%s: the %s answer is not application/problem+json", k, code)
			}
		}
		if !success {
			t.Errorf("%s documents no success answer", k)
		}
	}

	// The copy handed to embedders is theirs to change.
	c := httpapi.OpenAPIDocument()
	c[0] = 'x'
	if httpapi.OpenAPIDocument()[0] == 'x' {
		t.Error("OpenAPIDocument returns the embedded bytes themselves")
	}
}

// operationKey is "METHOD /path/{template}".
type operationKey string

func opKey(method, path string) operationKey {
	return operationKey(strings.ToUpper(method) + " " + path)
}

// documentedOperations lists the document's operations.
func documentedOperations(model *v3.Document) map[operationKey]*v3.Operation {
	ops := map[operationKey]*v3.Operation{}
	for path, item := range model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			ops[opKey(method, path)] = op
		}
	}
	return ops
}

func TestOpenAPIRoutesMatchRouter(t *testing.T) {
	t.Parallel()
	documented := documentedOperations(loadOpenAPI(t).model)

	env := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken, SignupEnabled: true})
	routes, ok := env.handler.(chi.Routes)
	if !ok {
		t.Fatalf("NewRouter returned %T, not a chi router", env.handler)
	}
	routed := map[operationKey]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*/", "/")
		if route != "/" {
			route = strings.TrimSuffix(route, "/")
		}
		routed[opKey(method, route)] = true
		return nil
	})
	if err != nil {
		t.Fatalf("walk the router: %v", err)
	}
	if len(routed) == 0 {
		t.Fatal("the router has no routes")
	}
	for _, k := range sortedKeys(routed) {
		if documented[k] == nil {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for _, k := range sortedKeys(documented) {
		if !routed[k] {
			t.Errorf("openapi.json documents %s, which the router does not serve", k)
		}
	}
}

func sortedKeys[V any](m map[operationKey]V) []operationKey {
	keys := make([]operationKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// describe renders a validation error with its schema failures.
func describe(e *oaerrors.ValidationError) string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Reason != "" && e.Reason != e.Message {
		b.WriteString(": " + e.Reason)
	}
	for _, f := range e.SchemaValidationErrors {
		b.WriteString("\n\t\t" + f.Reason)
		if f.FieldPath != "" {
			b.WriteString(" at " + f.FieldPath)
		}
		if f.KeywordLocation != "" {
			b.WriteString(" (schema " + f.KeywordLocation + ")")
		}
	}
	return b.String()
}

// conformance is an http.RoundTripper that validates every exchange against
// the document and records what the document and the server disagree on.
type conformance struct {
	next http.RoundTripper
	oa   openAPI
	opts *config.ValidationOptions
	// lenient accepts, without a headerDocRejects mark, a request the
	// document rejects when the server refuses it too (4xx), and ignores
	// requests to paths the document does not have (they are 404s).
	lenient bool

	mu         sync.Mutex
	violations []string
	exchanges  int
	// statuses records, per documented operation, the statuses seen.
	statuses map[operationKey]map[int]bool
}

func newConformance(next http.RoundTripper, oa openAPI) *conformance {
	return &conformance{next: next, oa: oa, opts: config.NewValidationOptions(),
		statuses: map[operationKey]map[int]bool{}}
}

func (c *conformance) RoundTrip(req *http.Request) (*http.Response, error) {
	reason := req.Header.Get(headerDocRejects)
	req = req.Clone(req.Context())
	req.Header.Del(headerDocRejects)
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	res, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))

	// The validator reads bodies: give it copies.
	vreq := func() *http.Request {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		return r
	}
	vres := *res
	vres.Body = io.NopCloser(bytes.NewReader(resBody))

	name := req.Method + " " + req.URL.RequestURI()
	item, _, path := paths.FindPath(vreq(), c.oa.model, c.opts)
	if item == nil && c.lenient {
		return res, nil
	}
	var found []string
	refused := res.StatusCode >= 400 && res.StatusCode <= 499
	reqOK, reqErrs := c.oa.requests.ValidateHttpRequestSync(vreq())
	switch {
	case reason == "" && !reqOK && !(c.lenient && refused):
		for _, e := range reqErrs {
			found = append(found, fmt.Sprintf("%s → %d: the document rejects the request: %s", name, res.StatusCode, describe(e)))
		}
	case reason != "" && reqOK:
		found = append(found, fmt.Sprintf("%s → %d: the test sends it as invalid (%s) but the document accepts it",
			name, res.StatusCode, reason))
	}
	if !reqOK && !refused {
		found = append(found, fmt.Sprintf("%s: the document rejects the request, yet the server answered %d %s",
			name, res.StatusCode, resBody))
	}
	if ok, errs := c.oa.responses.ValidateHttpResponse(vreq(), &vres); !ok {
		for _, e := range errs {
			found = append(found, fmt.Sprintf("%s → %d: the response breaks the document: %s\n\t\tbody: %.300s",
				name, res.StatusCode, describe(e), resBody))
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.exchanges++
	c.violations = append(c.violations, found...)
	if item != nil {
		k := opKey(req.Method, path)
		if c.statuses[k] == nil {
			c.statuses[k] = map[int]bool{}
		}
		c.statuses[k][res.StatusCode] = true
	}
	return res, nil
}

// checkExchanges validates every exchange of the clients of srv against the
// document for the rest of t, leniently (see conformance.lenient), and fails
// t at its end with every violation: a response the document does not
// describe, or a 2xx answer to a request the document rejects. One line in
// newStack puts every end-to-end test under the document.
func checkExchanges(t *testing.T, srv *httptest.Server) {
	t.Helper()
	client := srv.Client()
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	oc := newConformance(next, loadOpenAPI(t))
	oc.lenient = true
	client.Transport = oc
	t.Cleanup(func() {
		client.Transport = next
		oc.report(t, false)
	})
}

// report fails t with every violation and, when the story ran to its end
// (storyDone), with every documented operation it never completed
// successfully.
func (c *conformance) report(t *testing.T, storyDone bool) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.violations {
		t.Errorf("%s", v)
	}
	if !storyDone {
		return
	}
	var untested, unseen []string
	for k, op := range documentedOperations(c.oa.model) {
		seen := c.statuses[k]
		success := false
		for st := range seen {
			success = success || (st >= 200 && st < 300)
		}
		if !success {
			untested = append(untested, string(k))
		}
		for code := range op.Responses.Codes.KeysFromOldest() {
			var st int
			if _, err := fmt.Sscan(code, &st); err == nil && !seen[st] && st != 500 && st != 503 {
				unseen = append(unseen, fmt.Sprintf("%s %s", k, code))
			}
		}
	}
	sort.Strings(untested)
	sort.Strings(unseen)
	for _, k := range untested {
		t.Errorf("operation %s was never exercised successfully", k)
	}
	t.Logf("%d exchanges validated; %d documented answers (besides 500 and 503) not exercised", c.exchanges, len(unseen))
	if testing.Verbose() && len(unseen) > 0 {
		t.Logf("not exercised:\n\t%s", strings.Join(unseen, "\n\t"))
	}
}

// oaStory sends the requests of TestOpenAPIConformance and checks their
// statuses; the conformance transport checks them against the document.
type oaStory struct {
	t *testing.T
	s *stack
}

// ok sends a request the document accepts and expects status (and, for a
// problem, code when not "").
func (st oaStory) ok(method, p, tok string, body any, status int, code ...string) response {
	st.t.Helper()
	return st.s.expect(st.s.send(method, p, tok, body), status, strings.Join(code, ""))
}

// okHeader is ok with extra request headers (name, value pairs).
func (st oaStory) okHeader(header []string, method, p, tok string, body any, status int) response {
	st.t.Helper()
	return st.s.expect(st.s.send(method, p, tok, body, header...), status, "")
}

// bad sends a request the document rejects (why says how) and expects the
// server to refuse it with status.
func (st oaStory) bad(why, method, p, tok string, body any, status int, header ...string) response {
	st.t.Helper()
	return st.s.expect(st.s.send(method, p, tok, body, append([]string{headerDocRejects, why}, header...)...), status, "")
}

// id returns the "id" of a JSON object answer.
func (st oaStory) id(r response) int64 {
	st.t.Helper()
	return decodeAs[struct {
		ID int64 `json:"id"`
	}](st.t, r).ID
}

// field returns one top-level string member of a JSON object answer.
func (st oaStory) str(r response, name string) string {
	st.t.Helper()
	m := decodeAs[map[string]any](st.t, r)
	s, _ := m[name].(string)
	if s == "" {
		st.t.Fatalf("no %q in %s", name, r.body)
	}
	return s
}

// nextCursor returns the next_cursor of a list answer ("" for none).
func (st oaStory) nextCursor(r response) string {
	st.t.Helper()
	p := decodeAs[struct {
		NextCursor *string `json:"next_cursor"`
	}](st.t, r)
	if p.NextCursor == nil {
		return ""
	}
	return *p.NextCursor
}

// TestOpenAPIConformance walks every operation of the document through the
// real server — two companies, users of every role, reference data, teams,
// components with tags, dependencies and versions, environments, deployments
// and the current matrix, activity — with the main error answers of each,
// and validates every request and response against openapi.json.
func TestOpenAPIConformance(t *testing.T) {
	t.Parallel()
	oa := loadOpenAPI(t)
	s := newStack(t, stackOptions{signup: true})
	client := s.srv.Client()
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	oc := newConformance(next, oa)
	client.Transport = oc
	t.Cleanup(func() { client.Transport = next })
	storyDone := false
	defer func() { oc.report(t, storyDone) }()

	st := oaStory{t: t, s: s}
	const pw = "correct horse battery staple"
	id := func(n int64) string { return fmt.Sprint(n) }

	// Operations.
	st.ok("GET", "/healthz", "", nil, 200)
	st.ok("GET", "/readyz", "", nil, 200)
	st.ok("GET", "/openapi.json", "", nil, 200)

	// Signup: a new company and its first admin.
	r := st.ok("POST", "/api/v1/signup", "", map[string]any{"company_name": "Acme", "name": "Ada",
		"email": "ada@acme.test", "password": pw}, 201)
	ada := st.str(r, "access_token")
	acme := decodeAs[struct {
		Company struct {
			ID int64 `json:"id"`
		} `json:"company"`
	}](t, r).Company.ID
	st.ok("POST", "/api/v1/signup", "", map[string]any{"company_name": "Acme 2", "name": "Ada",
		"email": "ADA@acme.test", "password": pw}, 409, "conflict")
	st.ok("POST", "/api/v1/signup", "", map[string]any{"company_name": "   ", "name": "Ada",
		"email": "ada2@acme.test", "password": pw}, 422, "invalid")
	st.bad("unknown field", "POST", "/api/v1/signup", "", `{"company_name":"X","name":"Y","email":"y@x.test","password":"p","plan":"gold"}`, 400)
	st.bad("malformed JSON", "POST", "/api/v1/signup", "", `{"company_name":`, 400)
	st.bad("undeclared media type", "POST", "/api/v1/signup", "", `{}`, 415, "Content-Type", "text/plain")
	st.ok("POST", "/api/v1/signup", "", map[string]any{"company_name": "Big", "name": "B", "email": "b@big.test",
		"password": strings.Repeat("x", 1<<20)}, 413, "payload_too_large")

	// Companies, as the platform admin.
	r = st.ok("POST", "/api/v1/companies", testAdminToken, map[string]any{"name": "Globex"}, 201)
	globex := st.id(r)
	initech := st.id(st.ok("POST", "/api/v1/companies", testAdminToken, map[string]any{"name": "Initech"}, 201))
	st.ok("POST", "/api/v1/companies", testAdminToken, map[string]any{"name": ""}, 422, "invalid")
	st.bad("no credentials", "POST", "/api/v1/companies", "", map[string]any{"name": "X"}, 401)
	st.bad("a tenant token on an admin endpoint", "POST", "/api/v1/companies", ada, map[string]any{"name": "X"}, 403)
	r = st.ok("GET", "/api/v1/companies?limit=1", testAdminToken, nil, 200)
	st.ok("GET", "/api/v1/companies?limit=1&cursor="+st.nextCursor(r), testAdminToken, nil, 200)
	st.ok("GET", "/api/v1/companies?cursor=forged", testAdminToken, nil, 400, "bad_request")
	st.bad("limit below 1", "GET", "/api/v1/companies?limit=0", testAdminToken, nil, 400)
	st.bad("undeclared query parameter", "GET", "/api/v1/companies?sort=name", testAdminToken, nil, 400)
	st.ok("GET", "/api/v1/companies/"+id(globex), testAdminToken, nil, 200)
	st.ok("GET", "/api/v1/companies/999999999", testAdminToken, nil, 404, "not_found")
	st.bad("an id that is not an integer", "GET", "/api/v1/companies/abc", testAdminToken, nil, 404)
	st.ok("DELETE", "/api/v1/companies/"+id(acme), testAdminToken, nil, 409, "conflict")
	st.bad("a body on DELETE", "DELETE", "/api/v1/companies/"+id(initech), testAdminToken, `{}`, 400)
	st.ok("DELETE", "/api/v1/companies/"+id(initech), testAdminToken, nil, 204)
	st.ok("GET", "/api/v1/admin/tenants/status", testAdminToken, nil, 200)
	st.bad("undeclared query parameter", "GET", "/api/v1/admin/tenants/status?status=failed", testAdminToken, nil, 400)
	st.bad("a tenant token on an admin endpoint", "GET", "/api/v1/admin/tenants/status", ada, nil, 403)

	// Registration: by the platform admin, by a tenant admin, by invitation.
	st.ok("POST", "/api/v1/auth/register", testAdminToken, map[string]any{"name": "Gus", "email": "gus@globex.test",
		"password": pw, "company_id": globex, "role": "admin"}, 201)
	bobUser := st.id(st.ok("POST", "/api/v1/auth/register", ada, map[string]any{"name": "Bob", "email": "bob@acme.test",
		"password": pw, "role": "user"}, 201))
	carlUser := st.id(st.ok("POST", "/api/v1/auth/register", ada, map[string]any{"name": "Carl", "email": "carl@acme.test",
		"password": pw, "role": "viewer"}, 201))
	st.ok("POST", "/api/v1/auth/register", ada, map[string]any{"name": "Bob", "email": "BOB@acme.test",
		"password": pw, "role": "user"}, 409, "conflict")
	st.ok("POST", "/api/v1/auth/register", "", map[string]any{"name": "Mallory", "email": "m@acme.test",
		"password": pw, "company_id": acme, "role": "admin"}, 401, "unauthenticated")
	st.ok("POST", "/api/v1/auth/register", ada, map[string]any{"name": "Mallory", "email": "m@globex.test",
		"password": pw, "company_id": globex, "role": "admin"}, 403, "forbidden")
	st.bad("a role outside the enum", "POST", "/api/v1/auth/register", ada, map[string]any{"name": "Owen",
		"email": "owen@acme.test", "password": pw, "role": "owner"}, 422)

	// Login, as a form and as JSON; failures; throttling.
	form := func(user, pass string) url.Values { return url.Values{"username": {user}, "password": {pass}} }
	gus := st.str(st.ok("POST", "/api/v1/auth/login", "", form("gus@globex.test", pw), 200), "access_token")
	bob := st.str(st.ok("POST", "/api/v1/auth/login", "", map[string]any{"username": "bob@acme.test", "password": pw,
		"grant_type": "password"}, 200), "access_token")
	carl := st.str(st.ok("POST", "/api/v1/auth/login", "", form("carl@acme.test", pw), 200), "access_token")
	st.ok("POST", "/api/v1/auth/login", "", form("bob@acme.test", "wrong"), 401, "unauthenticated")
	for range e2eLoginBurst {
		st.ok("POST", "/api/v1/auth/login", "", form("nobody@acme.test", "wrong"), 401, "unauthenticated")
	}
	st.ok("POST", "/api/v1/auth/login", "", form("nobody@acme.test", "wrong"), 429, "too_many_requests")
	st.bad("grant_type outside the enum", "POST", "/api/v1/auth/login", "", url.Values{"username": {"bob@acme.test"},
		"password": {pw}, "grant_type": {"client_credentials"}}, 400)
	st.bad("password missing", "POST", "/api/v1/auth/login", "", map[string]any{"username": "bob@acme.test"}, 422)
	st.bad("unknown form field", "POST", "/api/v1/auth/login", "", url.Values{"username": {"bob@acme.test"},
		"password": {pw}, "remember": {"1"}}, 400)

	// The caller.
	st.ok("GET", "/api/v1/auth/me", bob, nil, 200)
	st.bad("no credentials", "GET", "/api/v1/auth/me", "", nil, 401)
	st.ok("GET", "/api/v1/auth/me", ada[:len(ada)-4]+"AAAA", nil, 401, "unauthenticated")
	st.bad("the platform admin token on a tenant endpoint", "GET", "/api/v1/auth/me", testAdminToken, nil, 403)

	// Invitations.
	r = st.ok("POST", "/api/v1/invitations", ada, map[string]any{"email": "dora@acme.test", "role": "user"}, 201)
	st.ok("POST", "/api/v1/auth/register", "", map[string]any{"name": "Dora", "email": "dora@acme.test",
		"password": pw, "invitation_token": st.str(r, "token")}, 201)
	st.ok("POST", "/api/v1/invitations", carl, map[string]any{"email": "eve@acme.test", "role": "user"}, 403, "forbidden")
	st.ok("POST", "/api/v1/invitations", ada, map[string]any{"email": "Bob@acme.test", "role": "user"}, 409, "conflict")
	st.bad("not an email", "POST", "/api/v1/invitations", ada, map[string]any{"email": "eve", "role": "user"}, 422)

	// Reference data of each kind.
	refs := map[string]map[string]int64{}
	for _, kind := range []string{"cloud-providers", "registry-providers", "service-types"} {
		base := "/api/v1/" + kind
		r = st.ok("GET", base+"?limit=2", carl, nil, 200)
		st.ok("GET", base+"?limit=2&cursor="+st.nextCursor(r), carl, nil, 200)
		st.ok("GET", base+"?limit=5000", carl, nil, 200)
		refs[kind] = map[string]int64{}
		for _, it := range decodeAs[struct {
			Items []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"items"`
		}](t, r).Items {
			refs[kind][it.Name] = it.ID
		}
		created := st.id(st.ok("POST", base, ada, map[string]any{"name": "Custom", "description": "ours"}, 201))
		st.ok("POST", base, ada, map[string]any{"name": "CUSTOM"}, 409, "conflict")
		st.ok("POST", base, bob, map[string]any{"name": "Other"}, 403, "forbidden")
		st.bad("name missing", "POST", base, ada, map[string]any{"description": "x"}, 422)
		st.ok("GET", base+"/"+id(created), carl, nil, 200)
		st.ok("GET", base+"/999999999", carl, nil, 404, "not_found")
		st.ok("PATCH", base+"/"+id(created), ada, map[string]any{"description": nil}, 200)
		st.okHeader([]string{"Content-Type", "application/merge-patch+json"}, "PATCH", base+"/"+id(created), ada, `{"name":"Custom 2"}`, 200)
		st.ok("DELETE", base+"/"+id(created), ada, nil, 204)
		st.ok("DELETE", base+"/"+id(created), ada, nil, 404, "not_found")
	}

	// Users.
	st.ok("GET", "/api/v1/users?limit=2", ada, nil, 200)
	st.ok("GET", "/api/v1/users", carl, nil, 403, "forbidden")
	st.ok("GET", "/api/v1/users/"+id(bobUser), bob, nil, 200)
	st.ok("GET", "/api/v1/users/999999999", ada, nil, 404, "not_found")
	st.ok("PATCH", "/api/v1/users/"+id(bobUser), bob, map[string]any{"name": "Bobby"}, 200)
	st.ok("PATCH", "/api/v1/users/"+id(bobUser), bob, map[string]any{"role": "admin"}, 403, "forbidden")
	st.ok("PATCH", "/api/v1/users/"+id(carlUser), ada, map[string]any{"role": "user"}, 200)
	st.okHeader([]string{"Content-Type", "application/merge-patch+json"}, "PATCH", "/api/v1/users/"+id(carlUser), ada,
		`{"role":"viewer"}`, 200)
	adaUser := decodeAs[struct {
		ID int64 `json:"id"`
	}](t, st.ok("GET", "/api/v1/auth/me", ada, nil, 200)).ID
	st.ok("PATCH", "/api/v1/users/"+id(adaUser), ada, map[string]any{"role": "viewer"}, 409, "conflict")
	st.ok("DELETE", "/api/v1/users/"+id(adaUser), ada, nil, 409, "conflict")
	st.bad("a role outside the enum", "PATCH", "/api/v1/users/"+id(carlUser), ada, map[string]any{"role": "root"}, 422)
	st.bad("null name", "PATCH", "/api/v1/users/"+id(carlUser), ada, `{"name":null}`, 422)
	eve := st.id(st.ok("POST", "/api/v1/auth/register", ada, map[string]any{"name": "Eve", "email": "eve@acme.test",
		"password": pw, "role": "viewer"}, 201))
	st.ok("DELETE", "/api/v1/users/"+id(eve), ada, nil, 204)
	st.ok("GET", "/api/v1/users/"+id(eve), ada, nil, 404, "not_found")
	st.ok("PUT", "/api/v1/auth/password", bob, map[string]any{"current_password": "wrong", "new_password": "a new long password"}, 422, "invalid")
	st.ok("PUT", "/api/v1/auth/password", bob, map[string]any{"current_password": pw, "new_password": "a new long password"}, 204)
	bob = st.str(st.ok("POST", "/api/v1/auth/login", "", form("bob@acme.test", "a new long password"), 200), "access_token")
	st.bad("new_password missing", "PUT", "/api/v1/auth/password", bob, map[string]any{"current_password": pw}, 422)

	// Teams and members.
	payments := st.id(st.ok("POST", "/api/v1/teams", bob, map[string]any{"name": "Payments", "description": "money"}, 201))
	platform := st.id(st.ok("POST", "/api/v1/teams", bob, map[string]any{"name": "Platform"}, 201))
	st.ok("POST", "/api/v1/teams", bob, map[string]any{"name": "PAYMENTS"}, 409, "conflict")
	st.ok("POST", "/api/v1/teams", carl, map[string]any{"name": "Viewers"}, 403, "forbidden")
	st.ok("POST", "/api/v1/teams", bob, map[string]any{"name": " "}, 422, "invalid")
	st.bad("name of the wrong type", "POST", "/api/v1/teams", bob, `{"name":7}`, 400)
	r = st.ok("GET", "/api/v1/teams?limit=1", carl, nil, 200)
	st.ok("GET", "/api/v1/teams?limit=1&cursor="+st.nextCursor(r), carl, nil, 200)
	st.ok("GET", "/api/v1/teams?cursor="+st.nextCursor(r)+"x", carl, nil, 400, "bad_request")
	st.ok("GET", "/api/v1/teams/"+id(payments), carl, nil, 200)
	st.ok("PATCH", "/api/v1/teams/"+id(payments), bob, map[string]any{"description": nil}, 200)
	st.ok("PATCH", "/api/v1/teams/"+id(payments), bob, map[string]any{"name": "Platform"}, 409, "conflict")
	st.ok("POST", "/api/v1/teams/"+id(payments)+"/members", bob, map[string]any{"user_id": bobUser}, 201)
	st.ok("POST", "/api/v1/teams/"+id(payments)+"/members", bob, map[string]any{"user_id": carlUser}, 201)
	st.ok("POST", "/api/v1/teams/"+id(payments)+"/members", bob, map[string]any{"user_id": 999999999}, 422, "invalid")
	st.ok("POST", "/api/v1/teams/999999999/members", bob, map[string]any{"user_id": bobUser}, 404, "not_found")
	r = st.ok("GET", "/api/v1/teams/"+id(payments)+"/members?limit=1", carl, nil, 200)
	st.ok("GET", "/api/v1/teams/"+id(payments)+"/members?cursor="+st.nextCursor(r), carl, nil, 200)
	st.ok("DELETE", "/api/v1/teams/"+id(payments)+"/members/"+id(carlUser), bob, nil, 204)
	st.ok("DELETE", "/api/v1/teams/"+id(platform), bob, nil, 204)
	st.ok("GET", "/api/v1/teams/"+id(platform), bob, nil, 404, "not_found")

	// Components.
	api, worker := refs["service-types"]["API"], refs["service-types"]["Worker"]
	dockerHub := refs["registry-providers"]["DockerHub"]
	aws := refs["cloud-providers"]["AWS"]
	if api == 0 || worker == 0 || dockerHub == 0 || aws == 0 {
		t.Fatalf("seeded reference data not found: %v", refs)
	}
	paymentsAPI := st.id(st.ok("POST", "/api/v1/components", bob, map[string]any{
		"name": "payments-api", "description": "takes money", "service_type_id": api, "team_id": payments,
		"lifecycle": "production", "tier": 1, "repository_url": "https://git.example.com/acme/payments",
		"registry_provider_id": dockerHub, "image_repository": "acme/payments", "tags": []string{"pci", "team:payments"},
	}, 201))
	ledger := st.id(st.ok("POST", "/api/v1/components", bob, map[string]any{
		"name": "ledger", "service_type_id": worker, "team_id": payments}, 201))
	st.ok("POST", "/api/v1/components", bob, map[string]any{"name": "ledger", "service_type_id": worker,
		"team_id": payments}, 409, "conflict")
	st.ok("POST", "/api/v1/components", bob, map[string]any{"name": "billing", "service_type_id": worker,
		"team_id": 999999999}, 422, "invalid")
	st.ok("POST", "/api/v1/components", carl, map[string]any{"name": "billing", "service_type_id": worker,
		"team_id": payments}, 403, "forbidden")
	st.bad("a name outside the pattern", "POST", "/api/v1/components", bob, map[string]any{"name": "Payments API",
		"service_type_id": worker, "team_id": payments}, 422)
	st.bad("a tier outside 1-4", "POST", "/api/v1/components", bob, map[string]any{"name": "billing",
		"service_type_id": worker, "team_id": payments, "tier": 5}, 422)
	r = st.ok("GET", "/api/v1/components?limit=1", carl, nil, 200)
	st.ok("GET", "/api/v1/components?limit=1&cursor="+st.nextCursor(r), carl, nil, 200)
	st.ok("GET", "/api/v1/components?team_id="+id(payments)+"&service_type_id="+id(api)+"&lifecycle=production&tag=pci&q=pay",
		carl, nil, 200)
	st.ok("GET", "/api/v1/components?q="+url.QueryEscape("100%_"), carl, nil, 200)
	st.bad("a lifecycle outside the enum", "GET", "/api/v1/components?lifecycle=retired", carl, nil, 400)
	st.bad("an id filter that is not an integer", "GET", "/api/v1/components?team_id=abc", carl, nil, 400)
	st.ok("GET", "/api/v1/components/"+id(paymentsAPI), carl, nil, 200)
	st.ok("GET", "/api/v1/components/"+id(paymentsAPI), gus, nil, 404, "not_found") // another tenant's id
	st.ok("PATCH", "/api/v1/components/"+id(paymentsAPI), bob, map[string]any{"tier": nil, "tags": []string{"pci"},
		"description": nil}, 200)
	st.ok("PATCH", "/api/v1/components/"+id(ledger), bob, map[string]any{"registry_provider_id": dockerHub,
		"image_repository": "acme/ledger", "tags": nil}, 200)
	st.ok("PATCH", "/api/v1/components/"+id(ledger), bob, map[string]any{"name": "payments-api"}, 409, "conflict")
	st.bad("null team_id", "PATCH", "/api/v1/components/"+id(ledger), bob, `{"team_id":null}`, 422)

	// Dependencies.
	dep := "/api/v1/components/" + id(ledger) + "/dependencies/" + id(paymentsAPI)
	st.ok("POST", dep, bob, nil, 201)
	st.ok("POST", dep, bob, nil, 409, "conflict")
	st.ok("POST", "/api/v1/components/"+id(ledger)+"/dependencies/"+id(ledger), bob, nil, 422, "invalid")
	st.ok("POST", "/api/v1/components/"+id(ledger)+"/dependencies/999999999", bob, nil, 404, "not_found")
	st.ok("GET", "/api/v1/components/"+id(ledger)+"/dependencies", carl, nil, 200)
	st.ok("GET", "/api/v1/components/"+id(paymentsAPI)+"/dependents?limit=10", carl, nil, 200)
	st.ok("DELETE", dep, bob, nil, 204)
	st.ok("DELETE", dep, bob, nil, 404, "not_found")

	// Versions.
	versions := "/api/v1/components/" + id(paymentsAPI) + "/versions"
	v1 := st.id(st.ok("POST", versions, bob, map[string]any{"version": "1.0.0", "image_digest": "sha256:" + strings.Repeat("ab", 32),
		"git_sha": "0123abc", "notes": "first"}, 201))
	v2 := st.id(st.ok("POST", versions, bob, map[string]any{"version": "1.1.0-rc.1+build.7"}, 201))
	st.ok("POST", versions, bob, map[string]any{"version": "1.0.0+other"}, 409, "conflict")
	st.ok("POST", versions, bob, map[string]any{"version": "1.0"}, 422, "invalid")
	st.ok("POST", "/api/v1/components/999999999/versions", bob, map[string]any{"version": "1.0.0"}, 404, "not_found")
	ledgerV := st.id(st.ok("POST", "/api/v1/components/"+id(ledger)+"/versions", bob, map[string]any{"version": "0.1.0"}, 201))
	r = st.ok("GET", versions+"?limit=1", carl, nil, 200)
	st.ok("GET", versions+"?limit=1&cursor="+st.nextCursor(r), carl, nil, 200)
	st.ok("GET", versions+"/"+id(v1), carl, nil, 200)
	st.ok("GET", versions+"/"+id(ledgerV), carl, nil, 404, "not_found") // a version of another component
	st.ok("PATCH", versions+"/"+id(v1), bob, map[string]any{"notes": "first release"}, 200)
	st.bad("an immutable field", "PATCH", versions+"/"+id(v1), bob, map[string]any{"version": "9.9.9"}, 400)

	// Tags.
	st.ok("GET", "/api/v1/tags?limit=1", carl, nil, 200)
	gdpr := st.id(st.ok("POST", "/api/v1/tags", bob, map[string]any{"name": "gdpr"}, 201))
	st.ok("POST", "/api/v1/tags", bob, map[string]any{"name": "gdpr"}, 409, "conflict")
	st.bad("a name outside the pattern", "POST", "/api/v1/tags", bob, map[string]any{"name": "GDPR rules"}, 422)
	st.ok("GET", "/api/v1/tags/"+id(gdpr), carl, nil, 200)
	st.ok("PATCH", "/api/v1/tags/"+id(gdpr), bob, map[string]any{"name": "gdpr-eu"}, 200)
	st.ok("PATCH", "/api/v1/tags/"+id(gdpr), bob, map[string]any{"name": "pci"}, 409, "conflict")
	st.ok("DELETE", "/api/v1/tags/"+id(gdpr), bob, nil, 204)
	st.ok("DELETE", "/api/v1/tags/"+id(gdpr), bob, nil, 404, "not_found")

	// Environments.
	prod := st.id(st.ok("POST", "/api/v1/environments", bob, map[string]any{"name": "production", "category": "production",
		"cloud_provider_id": aws, "region": "eu-west-1"}, 201))
	staging := st.id(st.ok("POST", "/api/v1/environments", bob, map[string]any{"name": "staging", "category": "staging",
		"cloud_provider_id": aws}, 201))
	scratch := st.id(st.ok("POST", "/api/v1/environments", bob, map[string]any{"name": "scratch", "category": "development",
		"cloud_provider_id": aws}, 201))
	st.ok("POST", "/api/v1/environments", bob, map[string]any{"name": "Production", "category": "production",
		"cloud_provider_id": aws}, 409, "conflict")
	st.ok("POST", "/api/v1/environments", bob, map[string]any{"name": "qa", "category": "testing",
		"cloud_provider_id": 999999999}, 422, "invalid")
	st.bad("a category outside the enum", "POST", "/api/v1/environments", bob, map[string]any{"name": "qa",
		"category": "qa", "cloud_provider_id": aws}, 422)
	r = st.ok("GET", "/api/v1/environments?limit=1", carl, nil, 200)
	st.ok("GET", "/api/v1/environments?cursor="+st.nextCursor(r), carl, nil, 200)
	st.ok("GET", "/api/v1/environments/"+id(prod), carl, nil, 200)
	st.ok("PATCH", "/api/v1/environments/"+id(staging), bob, map[string]any{"region": "eu-central-1"}, 200)
	st.ok("PATCH", "/api/v1/environments/"+id(staging), bob, map[string]any{"region": nil, "category": "testing"}, 200)
	st.ok("DELETE", "/api/v1/environments/"+id(scratch), bob, nil, 204)

	// Deployments and the current matrix.
	d1 := st.id(st.ok("POST", "/api/v1/deployments", bob, map[string]any{"component_id": paymentsAPI,
		"environment_id": prod, "version_id": v1}, 201))
	st.ok("POST", "/api/v1/deployments", bob, map[string]any{"component_id": paymentsAPI, "environment_id": staging,
		"version_id": v2, "status": "succeeded", "deployed_at": "2030-01-02T15:04:05Z"}, 422, "invalid") // in the future
	st.ok("POST", "/api/v1/deployments", bob, map[string]any{"component_id": paymentsAPI, "environment_id": staging,
		"version_id": v2, "status": "failed", "deployed_at": "2024-01-02T15:04:05.123Z"}, 201)
	st.ok("POST", "/api/v1/deployments", bob, map[string]any{"component_id": paymentsAPI, "environment_id": staging,
		"version_id": v2}, 201)
	st.ok("POST", "/api/v1/deployments", bob, map[string]any{"component_id": ledger, "environment_id": prod,
		"version_id": ledgerV}, 201)
	st.ok("POST", "/api/v1/deployments", bob, map[string]any{"component_id": paymentsAPI, "environment_id": prod,
		"version_id": ledgerV}, 422, "invalid") // a version of another component
	st.ok("POST", "/api/v1/deployments", carl, map[string]any{"component_id": paymentsAPI, "environment_id": prod,
		"version_id": v1}, 403, "forbidden")
	st.bad("a status outside the enum", "POST", "/api/v1/deployments", bob, map[string]any{"component_id": paymentsAPI,
		"environment_id": prod, "version_id": v1, "status": "done"}, 422)
	st.bad("deployed_at is not a date-time", "POST", "/api/v1/deployments", bob, map[string]any{"component_id": paymentsAPI,
		"environment_id": prod, "version_id": v1, "deployed_at": "yesterday"}, 422)
	r = st.ok("GET", "/api/v1/deployments?limit=1", carl, nil, 200)
	st.ok("GET", "/api/v1/deployments?limit=1&cursor="+st.nextCursor(r), carl, nil, 200)
	st.ok("GET", "/api/v1/deployments?component_id="+id(paymentsAPI)+"&environment_id="+id(staging), carl, nil, 200)
	st.bad("an id filter that is not an integer", "GET", "/api/v1/deployments?component_id=-1", carl, nil, 400)
	st.ok("GET", "/api/v1/deployments/"+id(d1), carl, nil, 200)
	st.ok("GET", "/api/v1/deployments/999999999", carl, nil, 404, "not_found")
	r = st.ok("GET", "/api/v1/deployments/current?limit=1", carl, nil, 200)
	st.ok("GET", "/api/v1/deployments/current?limit=1&cursor="+st.nextCursor(r), carl, nil, 200)
	st.ok("GET", "/api/v1/deployments/current?environment_id="+id(prod), carl, nil, 200)
	st.ok("GET", "/api/v1/deployments/current?cursor="+st.nextCursor(r)[2:], carl, nil, 400, "bad_request")

	// What is still referenced cannot go.
	st.ok("DELETE", versions+"/"+id(v1), bob, nil, 409, "conflict")
	st.ok("DELETE", "/api/v1/environments/"+id(prod), bob, nil, 409, "conflict")
	st.ok("DELETE", "/api/v1/components/"+id(paymentsAPI), bob, nil, 409, "conflict")
	st.ok("DELETE", "/api/v1/teams/"+id(payments), bob, nil, 409, "conflict")
	st.ok("DELETE", "/api/v1/service-types/"+id(api), ada, nil, 409, "conflict")
	st.bad("a body on DELETE", "DELETE", "/api/v1/tags/"+id(gdpr), bob, `{"force":true}`, 400)
	st.bad("a version id that is not an integer", "DELETE", versions+"/1.0.0", bob, nil, 404)
	// What is not, can.
	v3 := st.id(st.ok("POST", versions, bob, map[string]any{"version": "2.0.0"}, 201))
	st.ok("DELETE", versions+"/"+id(v3), bob, nil, 204)
	spare := st.id(st.ok("POST", "/api/v1/components", bob, map[string]any{"name": "spare", "service_type_id": worker,
		"team_id": payments}, 201))
	st.ok("DELETE", "/api/v1/components/"+id(spare), bob, nil, 204)

	// Activity (admins only) and the platform admin in a tenant.
	r = st.ok("GET", "/api/v1/activity?limit=5", ada, nil, 200)
	st.ok("GET", "/api/v1/activity?cursor="+st.nextCursor(r), ada, nil, 200)
	st.ok("GET", "/api/v1/activity", bob, nil, 403, "forbidden")
	st.bad("the platform admin token on a tenant endpoint", "GET", "/api/v1/components", testAdminToken, nil, 403)
	st.ok("GET", "/api/v1/components", gus, nil, 200) // Globex sees an empty catalog
	storyDone = true
}
