package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/schemata/schemata/adapters/httpapi"
	"github.com/schemata/schemata/domain"
)

// call describes one request to the router.
type call struct {
	method, path string
	token        string // bearer token, "" for none
	contentType  string // defaults to application/json when body is set
	body         string
	header       map[string]string
}

func (e *testEnv) do(c call) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r := httptest.NewRequest(c.method, c.path, body)
	if c.body != "" {
		ct := c.contentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	} else if c.contentType != "" {
		r.Header.Set("Content-Type", c.contentType)
	}
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// problemBody is the decoded problem+json of a response.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Field  string `json:"field"`
	Errors []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

// wantProblem checks that w is a problem+json with status and code, and
// returns it.
func wantProblem(t *testing.T, w *httptest.ResponseRecorder, status int, code string) problemBody {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, w.Body)
	}
	var p problemBody
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body %s: %v", w.Body, err)
	}
	if p.Status != status || p.Code != code || p.Type != "urn:schemata:problem:"+code || p.Title != http.StatusText(status) || p.Detail == "" {
		t.Fatalf("problem = %+v, want status %d code %s", p, status, code)
	}
	if p.Field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != p.Field) {
		t.Fatalf("problem field %q but errors %+v", p.Field, p.Errors)
	}
	return p
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
}

func decodeBody[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	return v
}

type itemOut struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

type listOut struct {
	Items      []itemOut `json:"items"`
	NextCursor *string   `json:"next_cursor"`
}

func TestProblemMapping(t *testing.T) {
	t.Parallel()
	secret := "pq: relation company_9.secret_table does not exist"
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		field  string
		header string
	}{
		{"invalid", domain.Invalid("name", "name is required"), 422, "invalid", "name", ""},
		{"not found", domain.NotFound("cloud provider"), 404, "not_found", "", ""},
		{"conflict", domain.Conflict("duplicate"), 409, "conflict", "", ""},
		{"unauthenticated", domain.Errorf(domain.CodeUnauthenticated, "no"), 401, "unauthenticated", "", "WWW-Authenticate"},
		{"forbidden", domain.Errorf(domain.CodeForbidden, "no"), 403, "forbidden", "", ""},
		{"too many", domain.Errorf(domain.CodeTooManyRequests, "slow down"), 429, "too_many_requests", "", "Retry-After"},
		{"unavailable", domain.Errorf(domain.CodeUnavailable, "down"), 503, "unavailable", "", ""},
		{"internal domain error", &domain.Error{Code: domain.CodeInternal, Message: secret}, 500, "internal", "", ""},
		{"unknown code", &domain.Error{Code: "weird", Message: secret}, 500, "internal", "", ""},
		{"plain error", errors.New(secret), 500, "internal", "", ""},
		{"wrapped domain error", errors.Join(errors.New("ctx"), domain.NotFound("x")), 404, "not_found", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, httpapi.Config{})
			c := e.world.addCompany("acme")
			_, tok := e.world.addUser(c, "a@example.com", domain.RoleViewer)
			e.world.refGetErr = tc.err
			w := e.do(call{method: "GET", path: "/api/v1/cloud-providers/1", token: tok})
			p := wantProblem(t, w, tc.status, tc.code)
			if p.Field != tc.field {
				t.Errorf("field = %q, want %q", p.Field, tc.field)
			}
			if tc.header != "" && w.Header().Get(tc.header) == "" {
				t.Errorf("missing header %s", tc.header)
			}
			if tc.status == 429 {
				if n, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || n <= 0 {
					t.Errorf("Retry-After = %q, want positive seconds", w.Header().Get("Retry-After"))
				}
			}
			if tc.status == 500 {
				if strings.Contains(w.Body.String(), "secret_table") || strings.Contains(w.Body.String(), "pq:") {
					t.Errorf("500 leaks internals: %s", w.Body)
				}
				if !strings.Contains(e.logs.String(), "secret_table") {
					t.Errorf("500 cause not logged: %s", e.logs)
				}
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	big := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
	t.Run("declared length", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
		w := e.do(call{method: "POST", path: "/api/v1/companies", token: testAdminToken, body: big})
		wantProblem(t, w, 413, "payload_too_large")
		if n := len(e.world.provisioner.CreateCalls()); n != 0 {
			t.Errorf("provisioner called %d times", n)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
		r := httptest.NewRequest("POST", "/api/v1/companies", io.MultiReader(strings.NewReader(big)))
		r.ContentLength = -1
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+testAdminToken)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		wantProblem(t, w, 413, "payload_too_large")
		if n := len(e.world.provisioner.CreateCalls()); n != 0 {
			t.Errorf("provisioner called %d times", n)
		}
	})
	t.Run("login form", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{})
		r := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader("username=a%40b.c&password="+strings.Repeat("x", 1<<20)))
		r.ContentLength = -1
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		wantProblem(t, w, 413, "payload_too_large")
	})
	t.Run("configured limit", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken, MaxBodyBytes: 64})
		w := e.do(call{method: "POST", path: "/api/v1/companies", token: testAdminToken, body: `{"name":"` + strings.Repeat("b", 64) + `"}`})
		wantProblem(t, w, 413, "payload_too_large")
		w = e.do(call{method: "POST", path: "/api/v1/companies", token: testAdminToken, body: `{"name":"small"}`})
		wantStatus(t, w, 201)
	})
	t.Run("just under the default limit is not 413", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
		body := `{"name":"` + strings.Repeat("a", 1<<20-20) + `"}`
		w := e.do(call{method: "POST", path: "/api/v1/companies", token: testAdminToken, body: body})
		p := wantProblem(t, w, 422, "invalid") // too long a name, but read in full
		if p.Field != "name" {
			t.Errorf("field = %q", p.Field)
		}
	})
}

func TestMalformedJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, field string
	}{
		{"syntax", `{"name":`, ""},
		{"garbage", `not json`, ""},
		{"unknown field", `{"name":"x","bogus":1}`, "bogus"},
		{"wrong type", `{"name":1}`, "name"},
		{"trailing object", `{"name":"x"}{"name":"y"}`, ""},
		{"trailing garbage", `{"name":"x"} x`, ""},
		{"array", `[{"name":"x"}]`, ""},
		{"null", `null`, ""},
		{"string", `"x"`, ""},
		{"whitespace only", `   `, ""},
		{"key in another case", `{"Name":"x"}`, "Name"},
		{"repeated key", `{"name":"x","name":"y"}`, "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
			w := e.do(call{method: "POST", path: "/api/v1/companies", token: testAdminToken, body: tc.body})
			p := wantProblem(t, w, 400, "bad_request")
			if p.Field != tc.field {
				t.Errorf("field = %q, want %q", p.Field, tc.field)
			}
			if n := len(e.world.provisioner.CreateCalls()); n != 0 {
				t.Errorf("provisioner called %d times", n)
			}
		})
	}
	t.Run("empty body", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
		w := e.do(call{method: "POST", path: "/api/v1/companies", token: testAdminToken, contentType: "application/json"})
		wantProblem(t, w, 400, "bad_request")
	})
	t.Run("trailing whitespace is fine", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
		w := e.do(call{method: "POST", path: "/api/v1/companies", token: testAdminToken, body: "{\"name\":\"x\"}\n\t "})
		wantStatus(t, w, 201)
	})
	t.Run("register company_id as a string", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
		w := e.do(call{method: "POST", path: "/api/v1/auth/register", token: testAdminToken,
			body: `{"name":"n","email":"n@example.com","password":"password1","company_id":"1;DROP SCHEMA company_1"}`})
		p := wantProblem(t, w, 400, "bad_request")
		if p.Field != "company_id" {
			t.Errorf("field = %q", p.Field)
		}
	})
	t.Run("patch with a wrong type in an optional field", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{})
		c := e.world.addCompany("acme")
		_, tok := e.world.addUser(c, "a@example.com", domain.RoleAdmin)
		it := e.world.addRef(c, domain.ServiceTypes, "API")
		w := e.do(call{method: "PATCH", path: "/api/v1/service-types/" + strconv.FormatInt(it.ID, 10), token: tok, body: `{"name":7}`})
		wantProblem(t, w, 400, "bad_request")
	})
}

func TestUnsupportedMediaType(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/xml", "json", ";;"} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
			w := e.do(call{method: "POST", path: "/api/v1/companies", token: testAdminToken, contentType: ct, body: `{"name":"x"}`})
			wantProblem(t, w, 415, "unsupported_media_type")
		})
	}
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
		r := httptest.NewRequest("POST", "/api/v1/companies", strings.NewReader(`{"name":"x"}`))
		r.Header.Set("Authorization", "Bearer "+testAdminToken)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		wantProblem(t, w, 415, "unsupported_media_type")
	})
	t.Run("utf-8 charset is fine", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
		w := e.do(call{method: "POST", path: "/api/v1/companies", token: testAdminToken, contentType: "application/json; charset=UTF-8", body: `{"name":"x"}`})
		wantStatus(t, w, 201)
	})
	t.Run("merge patch on PATCH", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{})
		c := e.world.addCompany("acme")
		_, tok := e.world.addUser(c, "a@example.com", domain.RoleAdmin)
		it := e.world.addRef(c, domain.ServiceTypes, "API")
		w := e.do(call{method: "PATCH", path: "/api/v1/service-types/" + strconv.FormatInt(it.ID, 10), token: tok,
			contentType: "application/merge-patch+json", body: `{"description":"d"}`})
		wantStatus(t, w, 200)
	})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, httpapi.Config{})
	c := e.world.addCompany("acme")
	_, tok := e.world.addUser(c, "a@example.com", domain.RoleViewer)
	var want []string
	for i := range 5 {
		want = append(want, e.world.addRef(c, domain.CloudProviders, "p"+strconv.Itoa(i)).Name)
	}

	t.Run("walk with cursors", func(t *testing.T) {
		var got []string
		path := "/api/v1/cloud-providers?limit=2"
		pages := 0
		for {
			w := e.do(call{method: "GET", path: path, token: tok})
			wantStatus(t, w, 200)
			l := decodeBody[listOut](t, w)
			pages++
			for _, it := range l.Items {
				got = append(got, it.Name)
			}
			if l.NextCursor == nil {
				if len(l.Items) == 2 {
					t.Fatalf("full page without next_cursor")
				}
				break
			}
			if pages > 5 {
				t.Fatalf("cursor loop")
			}
			path = "/api/v1/cloud-providers?limit=2&cursor=" + url.QueryEscape(*l.NextCursor)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || pages != 3 {
			t.Fatalf("got %v in %d pages, want %v in 3", got, pages, want)
		}
	})
	t.Run("next_cursor is null, items [] when empty", func(t *testing.T) {
		w := e.do(call{method: "GET", path: "/api/v1/service-types", token: tok})
		wantStatus(t, w, 200)
		if got := strings.TrimSpace(w.Body.String()); got != `{"items":[],"next_cursor":null}` {
			t.Fatalf("body = %s", got)
		}
	})
	limitOf := func(t *testing.T, query string) int {
		t.Helper()
		n := len(e.world.refRepo.ListCalls())
		w := e.do(call{method: "GET", path: "/api/v1/cloud-providers" + query, token: tok})
		wantStatus(t, w, 200)
		calls := e.world.refRepo.ListCalls()
		if len(calls) != n+1 {
			t.Fatalf("repository List calls %d, want %d", len(calls), n+1)
		}
		return calls[n].Page.Limit
	}
	t.Run("default limit", func(t *testing.T) {
		if got := limitOf(t, ""); got != domain.DefaultPageSize {
			t.Fatalf("limit = %d", got)
		}
	})
	t.Run("large limits are clamped", func(t *testing.T) {
		for _, q := range []string{"?limit=201", "?limit=1000", "?limit=99999999999999999999999999"} {
			if got := limitOf(t, q); got != domain.MaxPageSize {
				t.Fatalf("%s: limit = %d", q, got)
			}
		}
		if got := limitOf(t, "?limit=200"); got != 200 {
			t.Fatalf("limit = %d", got)
		}
		if got := limitOf(t, "?limit=1"); got != 1 {
			t.Fatalf("limit = %d", got)
		}
	})
	t.Run("bad limits", func(t *testing.T) {
		for _, q := range []string{"?limit=abc", "?limit=0", "?limit=-1", "?limit=1.5", "?limit=", "?limit=%201", "?limit=1&limit=2", "?limit=0x10"} {
			n := len(e.world.refRepo.ListCalls())
			w := e.do(call{method: "GET", path: "/api/v1/cloud-providers" + q, token: tok})
			if p := wantProblem(t, w, 400, "bad_request"); p.Field != "limit" {
				t.Errorf("%s: field = %q", q, p.Field)
			}
			if len(e.world.refRepo.ListCalls()) != n {
				t.Errorf("%s: repository called", q)
			}
		}
	})
	t.Run("bad cursors", func(t *testing.T) {
		b64 := base64.RawURLEncoding.EncodeToString
		for _, cur := range []string{"!!!", "abc", b64([]byte("abc")), b64([]byte("0")), b64([]byte("-1")), b64([]byte("01")),
			b64([]byte("99999999999999999999")), base64.URLEncoding.EncodeToString([]byte("1")), b64([]byte("1 ")), "MQ%3D%3D"} {
			w := e.do(call{method: "GET", path: "/api/v1/cloud-providers?cursor=" + url.QueryEscape(cur), token: tok})
			if p := wantProblem(t, w, 400, "bad_request"); p.Field != "cursor" {
				t.Errorf("%q: field = %q", cur, p.Field)
			}
		}
	})
	t.Run("companies list uses the same pagination", func(t *testing.T) {
		e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
		for i := range 3 {
			e.world.addCompany("c" + strconv.Itoa(i))
		}
		w := e.do(call{method: "GET", path: "/api/v1/companies?limit=2", token: testAdminToken})
		wantStatus(t, w, 200)
		var l struct {
			Items []struct {
				ID        int64  `json:"id"`
				Name      string `json:"name"`
				CreatedAt string `json:"created_at"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil || len(l.Items) != 2 || l.NextCursor == nil {
			t.Fatalf("page 1: %s (%v)", w.Body, err)
		}
		w = e.do(call{method: "GET", path: "/api/v1/companies?limit=2&cursor=" + *l.NextCursor, token: testAdminToken})
		wantStatus(t, w, 200)
		l.NextCursor = nil
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil || len(l.Items) != 1 || l.Items[0].Name != "c2" || l.NextCursor != nil {
			t.Fatalf("page 2: %s (%v)", w.Body, err)
		}
		w = e.do(call{method: "GET", path: "/api/v1/companies?limit=x", token: testAdminToken})
		wantProblem(t, w, 400, "bad_request")
	})
}

func TestAdminToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
	c := e.world.addCompany("acme")
	_, adminTok := e.world.addUser(c, "boss@example.com", domain.RoleAdmin)

	w := e.do(call{method: "POST", path: "/api/v1/companies", token: testAdminToken, body: `{"name":"New Co"}`})
	wantStatus(t, w, 201)
	if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, "/api/v1/companies/") {
		t.Errorf("Location = %q", loc)
	}
	w = e.do(call{method: "GET", path: "/api/v1/companies/" + c.String(), token: testAdminToken})
	wantStatus(t, w, 200)

	for _, bad := range []string{testAdminToken[:len(testAdminToken)-1], testAdminToken + "x", strings.ToUpper(testAdminToken), "x"} {
		w := e.do(call{method: "GET", path: "/api/v1/companies", token: bad})
		wantProblem(t, w, 401, "unauthenticated")
		if h := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
			t.Errorf("WWW-Authenticate = %q", h)
		}
	}
	w = e.do(call{method: "GET", path: "/api/v1/companies"})
	wantProblem(t, w, 401, "unauthenticated")
	if h := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
		t.Errorf("WWW-Authenticate = %q", h)
	}
	for _, h := range []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("a:b")), "Bearer", "Bearer ", "Token " + testAdminToken, testAdminToken} {
		w := e.do(call{method: "GET", path: "/api/v1/companies", header: map[string]string{"Authorization": h}})
		wantProblem(t, w, 401, "unauthenticated")
	}
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		w := e.do(call{method: "GET", path: "/api/v1/companies", header: map[string]string{"Authorization": "bearer " + testAdminToken}})
		wantStatus(t, w, 200)
	})
	t.Run("two Authorization headers", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/api/v1/companies", nil)
		r.Header.Add("Authorization", "Bearer "+testAdminToken)
		r.Header.Add("Authorization", "Bearer "+adminTok)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		wantProblem(t, w, 401, "unauthenticated")
	})
	t.Run("a tenant admin is not the platform admin", func(t *testing.T) {
		w := e.do(call{method: "GET", path: "/api/v1/companies", token: adminTok})
		wantProblem(t, w, 403, "forbidden")
		w = e.do(call{method: "DELETE", path: "/api/v1/companies/" + c.String(), token: adminTok})
		wantProblem(t, w, 403, "forbidden")
	})
	t.Run("the platform admin has no tenant", func(t *testing.T) {
		w := e.do(call{method: "GET", path: "/api/v1/cloud-providers", token: testAdminToken})
		wantProblem(t, w, 403, "forbidden")
		w = e.do(call{method: "GET", path: "/api/v1/auth/me", token: testAdminToken})
		wantProblem(t, w, 403, "forbidden")
	})
	t.Run("company ids are parsed strictly", func(t *testing.T) {
		for _, id := range []string{"0", "-1", "01", "+1", "1.0", "abc", "1;DROP%20SCHEMA%20company_1", "..%2F1", "99999999999999999999", "%20" + c.String()} {
			w := e.do(call{method: "GET", path: "/api/v1/companies/" + id, token: testAdminToken})
			wantProblem(t, w, 404, "not_found")
			w = e.do(call{method: "DELETE", path: "/api/v1/companies/" + id, token: testAdminToken})
			wantProblem(t, w, 404, "not_found")
		}
		if n := len(e.world.provisioner.DeleteCalls()); n != 0 {
			t.Fatalf("provisioner Delete called %d times", n)
		}
	})
	t.Run("delete refused while users exist, then allowed", func(t *testing.T) {
		w := e.do(call{method: "DELETE", path: "/api/v1/companies/" + c.String(), token: testAdminToken})
		wantProblem(t, w, 409, "conflict")
		empty := e.world.addCompany("empty")
		w = e.do(call{method: "DELETE", path: "/api/v1/companies/" + empty.String(), token: testAdminToken})
		wantStatus(t, w, 204)
		if w.Body.Len() != 0 {
			t.Errorf("204 with a body: %q", w.Body)
		}
		w = e.do(call{method: "GET", path: "/api/v1/companies/" + empty.String(), token: testAdminToken})
		wantProblem(t, w, 404, "not_found")
	})
}

func TestAdminEndpointsDisabled(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, httpapi.Config{}) // no AdminToken
	c := e.world.addCompany("acme")
	_, tok := e.world.addUser(c, "a@example.com", domain.RoleAdmin)
	for _, cl := range []call{
		{method: "POST", path: "/api/v1/companies", body: `{"name":"x"}`},
		{method: "GET", path: "/api/v1/companies"},
		{method: "GET", path: "/api/v1/companies/" + c.String()},
		{method: "DELETE", path: "/api/v1/companies/" + c.String()},
		{method: "PUT", path: "/api/v1/companies"},
	} {
		for _, token := range []string{"", "x", tok} {
			cl.token = token
			w := e.do(cl)
			wantProblem(t, w, 404, "not_found")
			if w.Header().Get("Allow") != "" || w.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("%s %s: disabled endpoint reveals itself: %v", cl.method, cl.path, w.Header())
			}
		}
	}
	// An empty bearer never matches the empty (disabled) admin token.
	w := e.do(call{method: "POST", path: "/api/v1/auth/register", header: map[string]string{"Authorization": "Bearer "},
		body: `{"name":"n","email":"n@example.com","password":"password1","company_id":` + c.String() + `}`})
	wantProblem(t, w, 401, "unauthenticated")
	if n := len(e.world.provisioner.CreateCalls()) + len(e.world.provisioner.DeleteCalls()); n != 0 {
		t.Fatalf("provisioner called %d times", n)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, httpapi.Config{})
	c := e.world.addCompany("acme")
	u, _ := e.world.addUser(c, "alice@example.com", domain.RoleUser)
	pw := "password-" + u.Email

	type tokenOut struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	checkToken := func(t *testing.T, w *httptest.ResponseRecorder) {
		t.Helper()
		wantStatus(t, w, 200)
		tok := decodeBody[tokenOut](t, w)
		if tok.AccessToken == "" || tok.TokenType != "bearer" || tok.ExpiresIn != 3600 {
			t.Fatalf("token = %+v", tok)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", w.Header().Get("Cache-Control"))
		}
		// The token works.
		w2 := e.do(call{method: "GET", path: "/api/v1/auth/me", token: tok.AccessToken})
		wantStatus(t, w2, 200)
	}
	form := func(v url.Values) call {
		return call{method: "POST", path: "/api/v1/auth/login", contentType: "application/x-www-form-urlencoded", body: v.Encode()}
	}
	t.Run("form", func(t *testing.T) {
		checkToken(t, e.do(form(url.Values{"username": {"Alice@Example.com"}, "password": {pw}, "grant_type": {"password"}})))
	})
	t.Run("form with OAuth2 client fields", func(t *testing.T) {
		checkToken(t, e.do(form(url.Values{"username": {u.Email}, "password": {pw}, "scope": {""}, "client_id": {"cli"}})))
	})
	t.Run("json", func(t *testing.T) {
		checkToken(t, e.do(call{method: "POST", path: "/api/v1/auth/login", body: `{"username":"alice@example.com","password":"` + pw + `"}`}))
	})
	t.Run("json with grant_type", func(t *testing.T) {
		checkToken(t, e.do(call{method: "POST", path: "/api/v1/auth/login", body: `{"username":"alice@example.com","password":"` + pw + `","grant_type":"password"}`}))
	})
	t.Run("bad requests", func(t *testing.T) {
		for name, cl := range map[string]call{
			"form grant_type":    form(url.Values{"username": {u.Email}, "password": {pw}, "grant_type": {"client_credentials"}}),
			"json grant_type":    {method: "POST", path: "/api/v1/auth/login", body: `{"username":"a@b.co","password":"x","grant_type":"implicit"}`},
			"form unknown field": form(url.Values{"username": {u.Email}, "password": {pw}, "role": {"admin"}}),
			"form duplicate":     form(url.Values{"username": {u.Email, "bob@example.com"}, "password": {pw}}),
			"json unknown field": {method: "POST", path: "/api/v1/auth/login", body: `{"email":"a@b.co","password":"x"}`},
			"form malformed":     {method: "POST", path: "/api/v1/auth/login", contentType: "application/x-www-form-urlencoded", body: "username=%zz"},
		} {
			t.Run(name, func(t *testing.T) { wantProblem(t, e.do(cl), 400, "bad_request") })
		}
	})
	t.Run("missing fields", func(t *testing.T) {
		p := wantProblem(t, e.do(form(url.Values{"password": {pw}})), 422, "invalid")
		if p.Field != "username" {
			t.Errorf("field = %q", p.Field)
		}
		// A password in the query string is never used.
		cl := form(url.Values{"username": {u.Email}})
		cl.path += "?password=" + url.QueryEscape(pw)
		if p := wantProblem(t, e.do(cl), 422, "invalid"); p.Field != "password" {
			t.Errorf("field = %q", p.Field)
		}
	})
	t.Run("media type", func(t *testing.T) {
		wantProblem(t, e.do(call{method: "POST", path: "/api/v1/auth/login", contentType: "text/plain", body: "username=a"}), 415, "unsupported_media_type")
		wantProblem(t, e.do(call{method: "POST", path: "/api/v1/auth/login", contentType: "multipart/form-data; boundary=x", body: "--x--"}), 415, "unsupported_media_type")
	})
	t.Run("unknown email and wrong password answer alike", func(t *testing.T) {
		e := newTestEnv(t, httpapi.Config{})
		c := e.world.addCompany("acme")
		e.world.addUser(c, "bob@example.com", domain.RoleUser)
		unknown := e.do(form(url.Values{"username": {"nobody@example.com"}, "password": {"whatever-1"}}))
		wrong := e.do(form(url.Values{"username": {"bob@example.com"}, "password": {"whatever-1"}}))
		wantProblem(t, unknown, 401, "unauthenticated")
		wantProblem(t, wrong, 401, "unauthenticated")
		if !bytes.Equal(unknown.Body.Bytes(), wrong.Body.Bytes()) {
			t.Fatalf("bodies differ:\n%s\n%s", unknown.Body, wrong.Body)
		}
		for _, h := range []string{"Content-Type", "WWW-Authenticate", "Cache-Control"} {
			if unknown.Header().Get(h) != wrong.Header().Get(h) {
				t.Errorf("header %s differs: %q vs %q", h, unknown.Header().Get(h), wrong.Header().Get(h))
			}
		}
	})
	t.Run("rate limited per account", func(t *testing.T) {
		e := newTestEnv(t, httpapi.Config{})
		c := e.world.addCompany("acme")
		u, _ := e.world.addUser(c, "carol@example.com", domain.RoleUser)
		for range maxFailedLogins {
			wantProblem(t, e.do(form(url.Values{"username": {u.Email}, "password": {"wrong-pass"}})), 401, "unauthenticated")
		}
		w := e.do(form(url.Values{"username": {u.Email}, "password": {"password-" + u.Email}}))
		wantProblem(t, w, 429, "too_many_requests")
		if got := w.Header().Get("Retry-After"); got != "91" { // the limiter's 90.5s, rounded up
			t.Errorf("Retry-After = %q, want the limiter's wait in whole seconds (91)", got)
		}
		// Another account is not affected.
		v, _ := e.world.addUser(c, "dave@example.com", domain.RoleUser)
		wantStatus(t, e.do(form(url.Values{"username": {v.Email}, "password": {"password-" + v.Email}})), 200)
	})
	t.Run("the Authorization header is ignored", func(t *testing.T) {
		cl := form(url.Values{"username": {u.Email}, "password": {pw}})
		cl.token = "garbage"
		wantStatus(t, e.do(cl), 200)
	})
}

func TestRoutingProblems(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
	c := e.world.addCompany("acme")
	_, tok := e.world.addUser(c, "a@example.com", domain.RoleAdmin)
	for _, p := range []string{"/", "/api", "/api/v1", "/api/v2/cloud-providers", "/api/v1/nope", "/api/v1/cloud-providers/1/extra", "/api/v1/cloud_providers"} {
		wantProblem(t, e.do(call{method: "GET", path: p, token: tok}), 404, "not_found")
	}
	cases := []struct{ method, path, allow string }{
		{"DELETE", "/api/v1/auth/me", "GET, HEAD"},
		{"GET", "/api/v1/auth/login", "POST"},
		{"PUT", "/api/v1/cloud-providers", "GET, HEAD, POST"},
		{"POST", "/api/v1/service-types/1", "GET, HEAD, PATCH, DELETE"},
		{"PATCH", "/api/v1/companies", "GET, HEAD, POST"},
		{"POST", "/healthz", "GET, HEAD"},
		{"BREW", "/api/v1/registry-providers", "GET, HEAD, POST"},
		{"HEAD", "/api/v1/auth/login", "POST"},
	}
	for _, tc := range cases {
		w := e.do(call{method: tc.method, path: tc.path, token: tok})
		wantProblem(t, w, 405, "method_not_allowed")
		if got := w.Header().Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	wantProblem(t, e.do(call{method: "BREW", path: "/nowhere"}), 404, "not_found")
	// HEAD is served wherever GET is.
	w := e.do(call{method: "HEAD", path: "/healthz"})
	wantStatus(t, w, 200)
	w = e.do(call{method: "HEAD", path: "/api/v1/cloud-providers", token: tok})
	wantStatus(t, w, 200)
}

func TestReferenceIDsAndRoles(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, httpapi.Config{})
	c := e.world.addCompany("acme")
	_, admin := e.world.addUser(c, "admin@example.com", domain.RoleAdmin)
	_, user := e.world.addUser(c, "user@example.com", domain.RoleUser)
	_, viewer := e.world.addUser(c, "viewer@example.com", domain.RoleViewer)
	it := e.world.addRef(c, domain.RegistryProviders, "Harbor")
	itPath := "/api/v1/registry-providers/" + strconv.FormatInt(it.ID, 10)

	t.Run("strict ids", func(t *testing.T) {
		for _, id := range []string{"0", "-1", "01", "+1", "abc", "1;DROP%20SCHEMA%20company_1", "..%2F1", "%27", "99999999999999999999"} {
			for _, m := range []string{"GET", "PATCH", "DELETE"} {
				cl := call{method: m, path: "/api/v1/registry-providers/" + id, token: admin}
				if m == "PATCH" {
					cl.body = `{"name":"x"}`
				}
				wantProblem(t, e.do(cl), 404, "not_found")
			}
		}
		if n := len(e.world.refRepo.GetCalls()) + len(e.world.refRepo.DeleteCalls()); n != 0 {
			t.Fatalf("repository called %d times for bad ids", n)
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		w := e.do(call{method: "POST", path: "/api/v1/registry-providers", body: `{"name":"x"`}) // malformed, but 401 first
		wantProblem(t, w, 401, "unauthenticated")
		if h := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
			t.Errorf("WWW-Authenticate = %q", h)
		}
	})
	t.Run("readers cannot write", func(t *testing.T) {
		for _, tok := range []string{user, viewer} {
			wantProblem(t, e.do(call{method: "POST", path: "/api/v1/registry-providers", token: tok, body: `{"name":"Quay"}`}), 403, "forbidden")
			wantProblem(t, e.do(call{method: "PATCH", path: itPath, token: tok, body: `{"name":"Quay"}`}), 403, "forbidden")
			wantProblem(t, e.do(call{method: "DELETE", path: itPath, token: tok}), 403, "forbidden")
			wantStatus(t, e.do(call{method: "GET", path: itPath, token: tok}), 200)
		}
		if n := len(e.world.refRepo.CreateCalls()) + len(e.world.refRepo.UpdateCalls()) + len(e.world.refRepo.DeleteCalls()); n != 0 {
			t.Fatalf("repository written %d times", n)
		}
	})
	t.Run("crud", func(t *testing.T) {
		w := e.do(call{method: "POST", path: "/api/v1/registry-providers", token: admin, body: `{"name":"Quay","description":"Red Hat"}`})
		wantStatus(t, w, 201)
		created := decodeBody[itemOut](t, w)
		if created.Name != "Quay" || created.Description != "Red Hat" || created.ID <= 0 || !strings.HasSuffix(created.CreatedAt, "Z") {
			t.Fatalf("created = %+v", created)
		}
		if w.Header().Get("Location") != "/api/v1/registry-providers/"+strconv.FormatInt(created.ID, 10) {
			t.Errorf("Location = %q", w.Header().Get("Location"))
		}
		wantProblem(t, e.do(call{method: "POST", path: "/api/v1/registry-providers", token: admin, body: `{"name":"QUAY"}`}), 409, "conflict")
		if p := wantProblem(t, e.do(call{method: "POST", path: "/api/v1/registry-providers", token: admin, body: `{"name":"  "}`}), 422, "invalid"); p.Field != "name" {
			t.Errorf("field = %q", p.Field)
		}
		p := "/api/v1/registry-providers/" + strconv.FormatInt(created.ID, 10)
		w = e.do(call{method: "PATCH", path: p, token: admin, body: `{"description":"changed"}`})
		wantStatus(t, w, 200)
		if got := decodeBody[itemOut](t, w); got.Name != "Quay" || got.Description != "changed" {
			t.Fatalf("patched = %+v", got)
		}
		w = e.do(call{method: "PATCH", path: p, token: admin, body: `{"description":null}`})
		wantStatus(t, w, 200)
		if got := decodeBody[itemOut](t, w); got.Name != "Quay" || got.Description != "" {
			t.Fatalf("patched = %+v", got)
		}
		if pr := wantProblem(t, e.do(call{method: "PATCH", path: p, token: admin, body: `{"name":null}`}), 422, "invalid"); pr.Field != "name" {
			t.Errorf("field = %q", pr.Field)
		}
		w = e.do(call{method: "PATCH", path: p, token: admin, body: `{}`})
		wantStatus(t, w, 200)
		w = e.do(call{method: "DELETE", path: p, token: admin})
		wantStatus(t, w, 204)
		wantProblem(t, e.do(call{method: "GET", path: p, token: admin}), 404, "not_found")
		wantProblem(t, e.do(call{method: "DELETE", path: p, token: admin}), 404, "not_found")
	})
	t.Run("another tenant's id is 404", func(t *testing.T) {
		other := e.world.addCompany("other")
		_, otherAdmin := e.world.addUser(other, "o@example.com", domain.RoleAdmin)
		wantProblem(t, e.do(call{method: "GET", path: itPath, token: otherAdmin}), 404, "not_found")
		wantProblem(t, e.do(call{method: "PATCH", path: itPath, token: otherAdmin, body: `{"name":"x"}`}), 404, "not_found")
		wantProblem(t, e.do(call{method: "DELETE", path: itPath, token: otherAdmin}), 404, "not_found")
	})
}

func TestRegisterHandler(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, httpapi.Config{AdminToken: testAdminToken})
	c := e.world.addCompany("acme")
	_, admin := e.world.addUser(c, "admin@example.com", domain.RoleAdmin)

	t.Run("anonymous without invitation", func(t *testing.T) {
		w := e.do(call{method: "POST", path: "/api/v1/auth/register", body: `{"name":"n","email":"n@example.com","password":"password1","company_id":` + c.String() + `}`})
		wantProblem(t, w, 401, "unauthenticated")
	})
	t.Run("invalid token", func(t *testing.T) {
		w := e.do(call{method: "POST", path: "/api/v1/auth/register", token: "forged",
			body: `{"name":"n","email":"n@example.com","password":"password1"}`})
		wantProblem(t, w, 401, "unauthenticated")
		if h := w.Header().Get("WWW-Authenticate"); !strings.Contains(h, "invalid_token") {
			t.Errorf("WWW-Authenticate = %q", h)
		}
	})
	t.Run("non-positive company_id", func(t *testing.T) {
		for _, id := range []string{"0", "-5"} {
			w := e.do(call{method: "POST", path: "/api/v1/auth/register", token: testAdminToken,
				body: `{"name":"n","email":"n@example.com","password":"password1","company_id":` + id + `}`})
			if p := wantProblem(t, w, 422, "invalid"); p.Field != "company_id" {
				t.Errorf("field = %q", p.Field)
			}
		}
	})
	t.Run("by the tenant admin, company implied", func(t *testing.T) {
		w := e.do(call{method: "POST", path: "/api/v1/auth/register", token: admin,
			body: `{"name":"New","email":"New@Example.com","password":"password1","role":"viewer"}`})
		wantStatus(t, w, 201)
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got["email"] != "new@example.com" || got["role"] != "viewer" || got["company_id"] != float64(c) || got["name"] != "New" {
			t.Fatalf("user = %v", got)
		}
		for k := range got {
			switch k {
			case "id", "name", "email", "role", "company_id", "created_at", "updated_at":
			default:
				t.Errorf("unexpected field %q in %s", k, w.Body)
			}
		}
		if strings.Contains(w.Body.String(), "password1") || strings.Contains(w.Body.String(), "phc:") {
			t.Fatalf("password leaked: %s", w.Body)
		}
	})
	t.Run("by the platform admin", func(t *testing.T) {
		w := e.do(call{method: "POST", path: "/api/v1/auth/register", token: testAdminToken,
			body: `{"name":"P","email":"p@example.com","password":"password1","company_id":` + c.String() + `,"role":"admin"}`})
		wantStatus(t, w, 201)
		var got map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &got)
		if got["company_id"] != float64(c) || got["role"] != "admin" {
			t.Fatalf("user = %v", got)
		}
	})
}

func TestSignupSwitch(t *testing.T) {
	t.Parallel()
	body := `{"company_name":" Startup ","name":"Founder","email":"founder@example.com","password":"password1"}`
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{SignupEnabled: false})
		wantProblem(t, e.do(call{method: "POST", path: "/api/v1/signup", body: body}), 403, "forbidden")
		if n := len(e.world.provisioner.CreateCalls()); n != 0 {
			t.Fatalf("provisioner called %d times", n)
		}
	})
	t.Run("on", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, httpapi.Config{SignupEnabled: true})
		w := e.do(call{method: "POST", path: "/api/v1/signup", body: body})
		wantStatus(t, w, 201)
		var got struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int64  `json:"expires_in"`
			Company     struct {
				ID        int64  `json:"id"`
				Name      string `json:"name"`
				CreatedAt string `json:"created_at"`
			} `json:"company"`
			User struct {
				ID        int64  `json:"id"`
				Email     string `json:"email"`
				Role      string `json:"role"`
				CompanyID int64  `json:"company_id"`
			} `json:"user"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.AccessToken == "" || got.TokenType != "bearer" || got.ExpiresIn != 3600 || got.Company.ID <= 0 ||
			got.Company.Name != "Startup" || got.Company.CreatedAt != "2030-01-02T03:04:05Z" || got.User.Role != "admin" ||
			got.User.CompanyID != got.Company.ID {
			t.Fatalf("signup = %+v", got)
		}
		wantStatus(t, e.do(call{method: "GET", path: "/api/v1/auth/me", token: got.AccessToken}), 200)
	})
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, httpapi.Config{})
	w := e.do(call{method: "GET", path: "/healthz"})
	wantStatus(t, w, 200)
	w = e.do(call{method: "GET", path: "/readyz"})
	wantStatus(t, w, 200)
	e.world.mu.Lock()
	ctx := e.world.pingCtxs[0]
	e.world.pingErr = errors.New("dial tcp 10.0.0.1:5432: connection refused")
	e.world.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		t.Error("Ping ran without a deadline")
	}
	w = e.do(call{method: "GET", path: "/readyz"})
	wantProblem(t, w, 503, "unavailable")
	if strings.Contains(w.Body.String(), "10.0.0.1") {
		t.Errorf("readyz leaks the cause: %s", w.Body)
	}
	wantStatus(t, e.do(call{method: "GET", path: "/healthz"}), 200)
}

func TestRecoverer(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, httpapi.Config{})
	c := e.world.addCompany("acme")
	_, tok := e.world.addUser(c, "a@example.com", domain.RoleViewer)
	e.world.refGetPanic = true
	w := e.do(call{method: "GET", path: "/api/v1/cloud-providers/1", token: tok})
	p := wantProblem(t, w, 500, "internal")
	if strings.Contains(p.Detail, "exploded") {
		t.Errorf("panic value leaked: %s", w.Body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "fake repository exploded") || !strings.Contains(logs, "goroutine") {
		t.Errorf("panic not logged with its stack: %s", logs)
	}
	if w.Header().Get("X-Request-Id") == "" {
		t.Error("no request id on a 500")
	}
}

func TestRequestIDAndAccessLog(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, httpapi.Config{})
	c := e.world.addCompany("acme")
	_, tok := e.world.addUser(c, "a@example.com", domain.RoleViewer)
	it := e.world.addRef(c, domain.CloudProviders, "AWS")

	w := e.do(call{method: "GET", path: "/api/v1/cloud-providers/" + strconv.FormatInt(it.ID, 10), token: tok,
		header: map[string]string{"X-Request-Id": "req-123.abc_DEF:9"}})
	wantStatus(t, w, 200)
	if got := w.Header().Get("X-Request-Id"); got != "req-123.abc_DEF:9" {
		t.Fatalf("X-Request-Id = %q", got)
	}
	var line map[string]any
	for l := range strings.Lines(e.logs.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "http request" && m["request_id"] == "req-123.abc_DEF:9" {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no access log line for the request: %s", e.logs)
	}
	if line["method"] != "GET" || line["path"] != "/api/v1/cloud-providers/{id}" || line["status"] != float64(200) ||
		line["company_id"] != float64(c) || line["duration"] == nil {
		t.Fatalf("access log = %v", line)
	}
	for _, bad := range []string{strings.Repeat("a", 65), "a b", "a\"b", "<script>", "é"} {
		w := e.do(call{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": bad}})
		got := w.Header().Get("X-Request-Id")
		if got == bad || len(got) != 32 {
			t.Errorf("X-Request-Id %q accepted or not replaced: %q", bad, got)
		}
	}
	w1 := e.do(call{method: "GET", path: "/healthz"})
	w2 := e.do(call{method: "GET", path: "/healthz"})
	if id1, id2 := w1.Header().Get("X-Request-Id"), w2.Header().Get("X-Request-Id"); id1 == "" || id1 == id2 {
		t.Errorf("generated ids %q, %q", id1, id2)
	}
}

func TestNewLogHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(httpapi.NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	decode := func() map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", buf.String(), err)
		}
		buf.Reset()
		return m
	}

	log.InfoContext(context.Background(), "plain")
	if m := decode(); m["request_id"] != nil || m["company_id"] != nil {
		t.Fatalf("attributes without a request: %v", m)
	}

	// Inside a request: the handler under test sees the request's context.
	e := newTestEnv(t, httpapi.Config{})
	c := e.world.addCompany("acme")
	_, tok := e.world.addUser(c, "a@example.com", domain.RoleViewer)
	e.world.refRepo.ListFunc = func(ctx context.Context, _ domain.RefKind, _ domain.Page) ([]domain.RefItem, error) {
		log.InfoContext(ctx, "inside")
		log.With("k", "v").InfoContext(ctx, "with attrs", "company_id", int64(-1))
		return nil, nil
	}
	w := e.do(call{method: "GET", path: "/api/v1/cloud-providers", token: tok, header: map[string]string{"X-Request-Id": "rid-1"}})
	wantStatus(t, w, 200)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines = %q", lines)
	}
	var first, second map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if first["request_id"] != "rid-1" || first["company_id"] != float64(c) {
		t.Fatalf("inside = %v", first)
	}
	if second["request_id"] != "rid-1" || second["company_id"] != float64(-1) || second["k"] != "v" || strings.Count(lines[1], "company_id") != 1 {
		t.Fatalf("with attrs = %v", second)
	}
}
