package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schemata/schemata/adapters/httpapi"
	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/adapters/token"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// End-to-end tests: the whole stack (postgres adapter, token, password,
// ratelimit, app, router) on a fresh PostgreSQL database per test, over real
// HTTP. "Nothing written" is always checked in the database itself.

func TestE2EHealthAndReadiness(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.expect(s.send("GET", "/healthz", "", nil), 200, "")
	s.expect(s.send("GET", "/readyz", "", nil), 200, "")

	// The same service over a closed pool is not ready, yet healthy.
	db, err := postgres.Open(s.dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	svc := s.svc
	svc.Pinger = postgres.Pinger{DB: db}
	h := httpapi.NewRouter(s.cfg, svc, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	wantProblem(t, w, 503, "unavailable")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	wantStatus(t, w, 200)
}

// companyList is a page of companies.
type companyList struct {
	Items      []companyOut `json:"items"`
	NextCursor *string      `json:"next_cursor"`
}

// signupOut is the answer to a signup.
type signupOut struct {
	tokenOut
	Company companyOut `json:"company"`
	User    userOut    `json:"user"`
}

func TestE2ECompanies(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})

	r := s.expect(s.send("POST", "/api/v1/companies", testAdminToken, `{"name":"  Acme  "}`), 201, "")
	acme := decodeAs[companyOut](t, r)
	if acme.ID <= 0 || acme.Name != "Acme" || acme.CreatedAt.IsZero() {
		t.Fatalf("created %+v", acme)
	}
	acmeID := tenancy.CompanyID(acme.ID)
	if loc := r.header.Get("Location"); loc != "/api/v1/companies/"+acmeID.String() {
		t.Errorf("Location = %q", loc)
	}
	got := decodeAs[companyOut](t, s.expect(s.send("GET", "/api/v1/companies/"+acmeID.String(), testAdminToken, nil), 200, ""))
	if got.ID != acme.ID || got.Name != "Acme" || !got.CreatedAt.Equal(acme.CreatedAt) {
		t.Fatalf("got %+v, want %+v", got, acme)
	}
	if !slices.Contains(s.tenantSchemas(), acmeID.Schema()) {
		t.Fatalf("schema %s missing", acmeID.Schema())
	}
	for table, n := range map[string]int{"cloud_providers": 6, "registry_providers": 8, "service_types": 7} {
		if got := s.count(`SELECT count(*) FROM "` + acmeID.Schema() + `".` + table); got != n {
			t.Errorf("%s seeded %d rows, want %d", table, got, n)
		}
	}

	t.Run("names are stored verbatim", func(t *testing.T) {
		s := s.on(t)
		for _, name := range []string{"O'Brien & Sons", "1;DROP SCHEMA company_1", "Robert'); DROP TABLE public.companies;--",
			`<script>alert("x")</script>`, "Ünïcødé 株式会社", `back\slash "quoted"`} {
			r := s.expect(s.send("POST", "/api/v1/companies", testAdminToken, map[string]string{"name": name}), 201, "")
			c := decodeAs[companyOut](t, r)
			if c.Name != name {
				t.Errorf("created %q, want %q", c.Name, name)
			}
			back := decodeAs[companyOut](t, s.expect(s.send("GET", "/api/v1/companies/"+strconv.FormatInt(c.ID, 10), testAdminToken, nil), 200, ""))
			if back.Name != name {
				t.Errorf("read back %q, want %q", back.Name, name)
			}
			if n := s.count("SELECT count(*) FROM public.companies WHERE name = ?", name); n != 1 {
				t.Errorf("%d rows named %q", n, name)
			}
		}
		if !slices.Contains(s.tenantSchemas(), acmeID.Schema()) || s.count("SELECT count(*) FROM public.companies") != 7 {
			t.Fatalf("an injection string had an effect: schemas %v", s.tenantSchemas())
		}
	})

	t.Run("invalid names", func(t *testing.T) {
		s := s.on(t)
		before := s.count("SELECT count(*) FROM public.companies")
		for _, body := range []string{`{"name":""}`, `{"name":"   "}`, `{}`, `{"name":"` + strings.Repeat("x", 201) + `"}`, `{"name":"a\u0000b"}`, `{"name":"a\nb"}`} {
			r := s.expect(s.send("POST", "/api/v1/companies", testAdminToken, body), 422, "invalid")
			if r.field() != "name" {
				t.Errorf("%s: field %q", body, r.field())
			}
		}
		s.expect(s.send("POST", "/api/v1/companies", testAdminToken, `{"name":"x","id":5}`), 400, "bad_request")
		s.expect(s.send("POST", "/api/v1/companies", testAdminToken, `{"name":"x"} {}`), 400, "bad_request")
		s.expect(s.send("POST", "/api/v1/companies", testAdminToken, `{"name":["x"]}`), 400, "bad_request")
		s.expect(s.send("POST", "/api/v1/companies", testAdminToken, `{"name":"`+strings.Repeat("x", 1<<20)+`"}`), 413, "payload_too_large")
		if after := s.count("SELECT count(*) FROM public.companies"); after != before {
			t.Fatalf("companies %d → %d after bad input", before, after)
		}
	})

	t.Run("list pages by id", func(t *testing.T) {
		s := s.on(t)
		var ids []int64
		path := "/api/v1/companies?limit=3"
		for range 10 {
			r := s.expect(s.send("GET", path, testAdminToken, nil), 200, "")
			l := decodeAs[companyList](t, r)
			for _, c := range l.Items {
				ids = append(ids, c.ID)
			}
			if l.NextCursor == nil {
				break
			}
			path = "/api/v1/companies?limit=3&cursor=" + url.QueryEscape(*l.NextCursor)
		}
		if len(ids) != 7 || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != 7 {
			t.Fatalf("ids %v", ids)
		}
		s.expect(s.send("GET", "/api/v1/companies?limit=0", testAdminToken, nil), 400, "bad_request")
		s.expect(s.send("GET", "/api/v1/companies?cursor=%27%3B--", testAdminToken, nil), 400, "bad_request")
	})

	t.Run("ids are parsed strictly", func(t *testing.T) {
		s := s.on(t)
		for _, id := range []string{"0", "-1", "01", "abc", "1;DROP%20SCHEMA%20company_1", "..%2F1", "%27", "1%27", "99999999999999999999", "999999"} {
			s.expect(s.send("GET", "/api/v1/companies/"+id, testAdminToken, nil), 404, "not_found")
			s.expect(s.send("DELETE", "/api/v1/companies/"+id, testAdminToken, nil), 404, "not_found")
		}
		s.expect(s.send("GET", "/api/v1/companies/../1", testAdminToken, nil), 404, "not_found")
		if !slices.Contains(s.tenantSchemas(), acmeID.Schema()) || s.count("SELECT count(*) FROM public.companies") != 7 {
			t.Fatal("a bad id had an effect")
		}
	})

	t.Run("delete", func(t *testing.T) {
		s := s.on(t)
		_, tok := s.addUser(acmeID, "owner@acme.example", "admin")
		s.expect(s.send("DELETE", "/api/v1/companies/"+acmeID.String(), tok, nil), 403, "forbidden")
		s.expect(s.send("DELETE", "/api/v1/companies/"+acmeID.String(), testAdminToken, nil), 409, "conflict")
		if !slices.Contains(s.tenantSchemas(), acmeID.Schema()) || s.count(`SELECT count(*) FROM "`+acmeID.Schema()+`".users`) != 1 {
			t.Fatal("a refused delete changed something")
		}
		s.expect(s.send("GET", "/api/v1/auth/me", tok, nil), 200, "")

		empty := s.createCompany("Empty")
		r := s.expect(s.send("DELETE", "/api/v1/companies/"+empty.String(), testAdminToken, nil), 204, "")
		if len(r.body) != 0 {
			t.Errorf("204 with body %q", r.body)
		}
		if slices.Contains(s.tenantSchemas(), empty.Schema()) || s.count("SELECT count(*) FROM public.companies WHERE id = ?", int64(empty)) != 0 {
			t.Fatal("deleted company left its schema or row")
		}
		s.expect(s.send("GET", "/api/v1/companies/"+empty.String(), testAdminToken, nil), 404, "not_found")
		s.expect(s.send("DELETE", "/api/v1/companies/"+empty.String(), testAdminToken, nil), 404, "not_found")
	})

	t.Run("only the platform admin", func(t *testing.T) {
		s := s.on(t)
		s.expect(s.send("GET", "/api/v1/companies", "", nil), 401, "unauthenticated")
		s.expect(s.send("GET", "/api/v1/companies", testAdminToken+"x", nil), 401, "unauthenticated")
		s.expect(s.send("GET", "/api/v1/companies", testAdminToken[:len(testAdminToken)-1], nil), 401, "unauthenticated")
		tok := s.login("owner@acme.example", e2ePassword)
		s.expect(s.send("GET", "/api/v1/companies", tok, nil), 403, "forbidden")
		s.expect(s.send("POST", "/api/v1/companies", tok, `{"name":"Mine"}`), 403, "forbidden")
	})
}

func TestE2EConcurrentCompanyCreation(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ids  []int64
		errs []string
	)
	for i := range n {
		wg.Go(func() {
			r, err := s.try("POST", "/api/v1/companies", testAdminToken, map[string]string{"name": "Concurrent " + strconv.Itoa(i)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil || r.status != 201 {
				errs = append(errs, r.String()+" "+errString(err))
				return
			}
			var c companyOut
			if err := json.Unmarshal(r.body, &c); err != nil {
				errs = append(errs, err.Error())
				return
			}
			ids = append(ids, c.ID)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("failures: %v", errs)
	}
	slices.Sort(ids)
	if len(slices.Compact(slices.Clone(ids))) != n {
		t.Fatalf("ids not distinct: %v", ids)
	}
	schemas := s.tenantSchemas()
	if len(schemas) != n || s.count("SELECT count(*) FROM public.companies") != n {
		t.Fatalf("schemas %v for %d companies", schemas, n)
	}
	for _, id := range ids {
		schema := tenancy.CompanyID(id).Schema()
		if !slices.Contains(schemas, schema) || s.count(`SELECT count(*) FROM "`+schema+`".service_types`) != 7 {
			t.Errorf("company %d not fully provisioned", id)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestE2ERegister(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	a := s.createCompany("A")
	b := s.createCompany("B")
	_, adminA := s.addUser(a, "admin@a.example", "admin")
	_, userA := s.addUser(a, "user@a.example", "user")
	_, viewerA := s.addUser(a, "viewer@a.example", "viewer")
	_, adminB := s.addUser(b, "admin@b.example", "admin")

	reg := func(email string, extra map[string]any) map[string]any {
		m := map[string]any{"name": "New " + email, "email": email, "password": e2ePassword}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	nothingWritten := func(t *testing.T, email string) {
		t.Helper()
		if users, lookups := s.usersWithEmail(email); users != 0 || lookups != 0 {
			t.Fatalf("%s: %d user rows, %d lookup rows; want none", email, users, lookups)
		}
	}

	t.Run("tenant admin into its own company", func(t *testing.T) {
		s := s.on(t)
		r := s.expect(s.send("POST", "/api/v1/auth/register", adminA, reg("Implied@A.example", map[string]any{"role": "admin"})), 201, "")
		u := decodeAs[userOut](t, r)
		if u.Email != "implied@a.example" || u.Role != "admin" || u.CompanyID != int64(a) || u.ID <= 0 || u.CreatedAt.IsZero() {
			t.Fatalf("user %+v", u)
		}
		for _, leak := range []string{e2ePassword, "argon2", "password"} {
			if strings.Contains(string(r.body), leak) {
				t.Fatalf("response leaks %q: %s", leak, r.body)
			}
		}
		r = s.expect(s.send("POST", "/api/v1/auth/register", adminA, reg("explicit@a.example", map[string]any{"company_id": int64(a)})), 201, "")
		if u := decodeAs[userOut](t, r); u.Role != "user" || u.CompanyID != int64(a) {
			t.Fatalf("user %+v", u)
		}
		if users, lookups := s.usersWithEmail("explicit@a.example"); users != 1 || lookups != 1 ||
			s.count(`SELECT count(*) FROM public.user_company_lookup WHERE email = 'explicit@a.example' AND company_id = ?`, int64(a)) != 1 {
			t.Fatal("user and lookup rows not both written")
		}
		s.login("explicit@a.example", e2ePassword)
	})

	t.Run("tenant admin into another company", func(t *testing.T) {
		s := s.on(t)
		s.expect(s.send("POST", "/api/v1/auth/register", adminA, reg("intruder@b.example", map[string]any{"company_id": int64(b), "role": "admin"})), 403, "forbidden")
		nothingWritten(t, "intruder@b.example")
		s.expect(s.send("POST", "/api/v1/auth/register", adminB, reg("intruder@a.example", map[string]any{"company_id": int64(a)})), 403, "forbidden")
		nothingWritten(t, "intruder@a.example")
		if s.count(`SELECT count(*) FROM public.audit_log WHERE action = 'register.cross_tenant_denied'`) != 2 {
			t.Error("cross-tenant attempts not audited")
		}
	})

	t.Run("no role above your own", func(t *testing.T) {
		s := s.on(t)
		for _, tok := range []string{userA, viewerA} {
			for _, role := range []string{"admin", "user", "viewer", ""} {
				email := "climber-" + role + "@a.example"
				s.expect(s.send("POST", "/api/v1/auth/register", tok, reg(email, map[string]any{"role": role})), 403, "forbidden")
				nothingWritten(t, email)
			}
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		s := s.on(t)
		s.expect(s.send("POST", "/api/v1/auth/register", "", reg("anon@a.example", map[string]any{"company_id": int64(a), "role": "admin"})), 401, "unauthenticated")
		s.expect(s.send("POST", "/api/v1/auth/register", "not-a-token", reg("anon@a.example", map[string]any{"company_id": int64(a)})), 401, "unauthenticated")
		nothingWritten(t, "anon@a.example")
	})

	t.Run("duplicate email anywhere", func(t *testing.T) {
		s := s.on(t)
		s.expect(s.send("POST", "/api/v1/auth/register", adminB, reg("USER@A.EXAMPLE", nil)), 409, "conflict")
		s.expect(s.send("POST", "/api/v1/auth/register", testAdminToken, reg(" User@a.example ", map[string]any{"company_id": int64(a)})), 409, "conflict")
		if users, lookups := s.usersWithEmail("user@a.example"); users != 1 || lookups != 1 {
			t.Fatalf("%d users, %d lookups", users, lookups)
		}
	})

	t.Run("validation", func(t *testing.T) {
		s := s.on(t)
		cases := []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"name": "n", "email": "not-an-email", "password": e2ePassword}, "email"},
			{map[string]any{"name": "n", "email": "v1@a.example", "password": "short"}, "password"},
			{map[string]any{"name": " ", "email": "v2@a.example", "password": e2ePassword}, "name"},
			{map[string]any{"name": "n", "email": "v3@a.example", "password": e2ePassword, "role": "owner"}, "role"},
			{map[string]any{"name": "n", "email": "v4@a.example", "password": e2ePassword, "company_id": 0}, "company_id"},
		}
		for _, tc := range cases {
			r := s.expect(s.send("POST", "/api/v1/auth/register", adminA, tc.body), 422, "invalid")
			if r.field() != tc.field {
				t.Errorf("%v: field %q, want %q", tc.body, r.field(), tc.field)
			}
		}
		// The platform admin must name an existing company.
		r := s.expect(s.send("POST", "/api/v1/auth/register", testAdminToken, reg("v5@a.example", nil)), 422, "invalid")
		if r.field() != "company_id" {
			t.Errorf("field %q", r.field())
		}
		r = s.expect(s.send("POST", "/api/v1/auth/register", testAdminToken, reg("v6@a.example", map[string]any{"company_id": 999999})), 422, "invalid")
		if r.field() != "company_id" {
			t.Errorf("field %q", r.field())
		}
		s.expect(s.send("POST", "/api/v1/auth/register", adminA, `{"name":"n","email":"v7@a.example","password":"`+e2ePassword+`","company_id":"`+a.String()+`"}`), 400, "bad_request")
		s.expect(s.send("POST", "/api/v1/auth/register", adminA, `{"name":"n","email":"v8@a.example","password":"`+e2ePassword+`","password_hash":"x"}`), 400, "bad_request")
		s.expect(s.send("POST", "/api/v1/auth/register", adminA, `{"name":"n","email":"v9@a.example","password":"`+strings.Repeat("p", 1<<20)+`"}`), 413, "payload_too_large")
		for i := 1; i <= 9; i++ {
			nothingWritten(t, "v"+strconv.Itoa(i)+"@a.example")
		}
	})

	t.Run("quotes in names are stored verbatim", func(t *testing.T) {
		s := s.on(t)
		name := `Robert'); DROP TABLE users;-- "O'Neil"`
		r := s.expect(s.send("POST", "/api/v1/auth/register", adminA, map[string]any{"name": name, "email": "bobby@a.example", "password": e2ePassword}), 201, "")
		if u := decodeAs[userOut](t, r); u.Name != name {
			t.Fatalf("name %q", u.Name)
		}
		me := decodeAs[userOut](t, s.expect(s.send("GET", "/api/v1/auth/me", s.login("bobby@a.example", e2ePassword), nil), 200, ""))
		if me.Name != name {
			t.Fatalf("me.name %q", me.Name)
		}
		if s.count(`SELECT count(*) FROM "`+a.Schema()+`".users WHERE name = ?`, name) != 1 {
			t.Fatal("name not stored verbatim")
		}
	})
}

func TestE2EConcurrentRegistration(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	a := s.createCompany("A")
	b := s.createCompany("B")
	const n = 16
	spellings := []string{"race@example.com", "Race@Example.com", "RACE@EXAMPLE.COM", "race@EXAMPLE.com"}
	statuses := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		company := a
		if i%2 == 1 {
			company = b
		}
		wg.Go(func() {
			r, err := s.try("POST", "/api/v1/auth/register", testAdminToken, map[string]any{
				"name": "Racer " + strconv.Itoa(i), "email": spellings[i%len(spellings)], "password": e2ePassword,
				"company_id": int64(company), "role": "user",
			})
			statuses[i], errs[i] = r.status, err
		})
	}
	wg.Wait()
	created, conflicts := 0, 0
	for i, st := range statuses {
		switch {
		case errs[i] != nil:
			t.Errorf("request %d: %v", i, errs[i])
		case st == 201:
			created++
		case st == 409:
			conflicts++
		default:
			t.Errorf("request %d: status %d", i, st)
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("%d created, %d conflicts; want 1 and %d (statuses %v)", created, conflicts, n-1, statuses)
	}
	if users, lookups := s.usersWithEmail("race@example.com"); users != 1 || lookups != 1 {
		t.Fatalf("%d user rows and %d lookup rows, want 1 and 1", users, lookups)
	}
	// The lookup points at the company that holds the user.
	company := s.count("SELECT company_id::int FROM public.user_company_lookup WHERE email = 'race@example.com'")
	if s.count(`SELECT count(*) FROM "`+tenancy.CompanyID(company).Schema()+`".users WHERE email = 'race@example.com'`) != 1 {
		t.Fatal("the lookup row and the user row disagree")
	}
	s.login("RACE@example.com", e2ePassword)
}

func TestE2EInvitations(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	a := s.createCompany("A")
	b := s.createCompany("B")
	_, adminA := s.addUser(a, "admin@a.example", "admin")
	_, userA := s.addUser(a, "user@a.example", "user")

	s.expect(s.send("POST", "/api/v1/invitations", "", `{"email":"x@a.example","role":"user"}`), 401, "unauthenticated")
	s.expect(s.send("POST", "/api/v1/invitations", userA, `{"email":"x@a.example","role":"user"}`), 403, "forbidden")
	s.expect(s.send("POST", "/api/v1/invitations", testAdminToken, `{"email":"x@a.example","role":"user"}`), 403, "forbidden")
	s.expect(s.send("POST", "/api/v1/invitations", adminA, `{"email":"USER@a.example","role":"user"}`), 409, "conflict")
	if r := s.expect(s.send("POST", "/api/v1/invitations", adminA, `{"email":"x@a.example","role":"root"}`), 422, "invalid"); r.field() != "role" {
		t.Errorf("field %q", r.field())
	}
	if r := s.expect(s.send("POST", "/api/v1/invitations", adminA, `{"email":"x@a.example"}`), 422, "invalid"); r.field() != "role" {
		t.Errorf("field %q", r.field())
	}
	if n := s.count(`SELECT count(*) FROM "` + a.Schema() + `".invitations`); n != 0 {
		t.Fatalf("%d invitations after refusals", n)
	}

	r := s.expect(s.send("POST", "/api/v1/invitations", adminA, `{"email":"New@A.example","role":"viewer"}`), 201, "")
	inv := decodeAs[invitationOut](t, r)
	if inv.ID <= 0 || inv.Email != "new@a.example" || inv.Role != "viewer" || inv.Token == "" || !inv.ExpiresAt.After(s.clock.Now().Add(time.Hour)) {
		t.Fatalf("invitation %+v", inv)
	}
	if s.count(`SELECT count(*) FROM "`+a.Schema()+`".invitations WHERE token_hash = ?`, []byte(inv.Token)) != 0 {
		t.Fatal("the invitation token is stored in clear")
	}
	redeem := func(email string, extra map[string]any) map[string]any {
		m := map[string]any{"name": "Invited", "email": email, "password": e2ePassword, "invitation_token": inv.Token}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	t.Run("refusals", func(t *testing.T) {
		s := s.on(t)
		s.expect(s.send("POST", "/api/v1/auth/register", "", redeem("other@a.example", nil)), 403, "forbidden")
		if users, lookups := s.usersWithEmail("other@a.example"); users != 0 || lookups != 0 {
			t.Fatal("an invitation for another email wrote something")
		}
		if r := s.expect(s.send("POST", "/api/v1/auth/register", "", redeem("new@a.example", map[string]any{"role": "admin"})), 422, "invalid"); r.field() != "role" {
			t.Errorf("field %q", r.field())
		}
		if r := s.expect(s.send("POST", "/api/v1/auth/register", "", redeem("new@a.example", map[string]any{"company_id": int64(b)})), 422, "invalid"); r.field() != "company_id" {
			t.Errorf("field %q", r.field())
		}
		_, secret, _ := strings.Cut(inv.Token, ".")
		forged := []string{
			"garbage",
			b.String() + "." + secret, // routed to another tenant
			a.String() + "." + strings.Repeat("A", len(secret)),
			a.String() + "." + secret[:len(secret)-1],
			"0." + secret,
			"1;DROP SCHEMA company_1." + secret,
		}
		for _, f := range forged {
			s.expect(s.send("POST", "/api/v1/auth/register", "", map[string]any{"name": "n", "email": "new@a.example",
				"password": e2ePassword, "invitation_token": f}), 401, "unauthenticated")
		}
		if users, lookups := s.usersWithEmail("new@a.example"); users != 0 || lookups != 0 {
			t.Fatal("a refused invitation wrote something")
		}
	})

	t.Run("redeem once", func(t *testing.T) {
		s := s.on(t)
		r := s.expect(s.send("POST", "/api/v1/auth/register", "", redeem("NEW@a.example", nil)), 201, "")
		u := decodeAs[userOut](t, r)
		if u.Email != "new@a.example" || u.Role != "viewer" || u.CompanyID != int64(a) {
			t.Fatalf("user %+v", u)
		}
		tok := s.login("new@a.example", e2ePassword)
		me := decodeAs[userOut](t, s.expect(s.send("GET", "/api/v1/auth/me", tok, nil), 200, ""))
		if me.ID != u.ID || me.CompanyID != int64(a) || me.Role != "viewer" {
			t.Fatalf("me %+v", me)
		}
		// Second use, for any email: the invitation is spent.
		s.expect(s.send("POST", "/api/v1/auth/register", "", redeem("again@a.example", nil)), 401, "unauthenticated")
		if users, lookups := s.usersWithEmail("again@a.example"); users != 0 || lookups != 0 {
			t.Fatal("a spent invitation wrote something")
		}
		if s.count(`SELECT count(*) FROM "`+a.Schema()+`".invitations WHERE used_at IS NOT NULL`) != 1 {
			t.Fatal("invitation not marked used")
		}
	})

	t.Run("expired", func(t *testing.T) {
		s := s.on(t)
		r := s.expect(s.send("POST", "/api/v1/invitations", adminA, `{"email":"late@a.example","role":"user"}`), 201, "")
		late := decodeAs[invitationOut](t, r)
		s.clock.advance(time.Until(late.ExpiresAt) + time.Minute)
		s.expect(s.send("POST", "/api/v1/auth/register", "", map[string]any{"name": "Late", "email": "late@a.example",
			"password": e2ePassword, "invitation_token": late.Token}), 401, "unauthenticated")
		if users, lookups := s.usersWithEmail("late@a.example"); users != 0 || lookups != 0 {
			t.Fatal("an expired invitation wrote something")
		}
		// Access tokens issued before the jump have expired as well.
		s.expect(s.send("GET", "/api/v1/auth/me", adminA, nil), 401, "unauthenticated")
	})
}

func TestE2ESignup(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{signup: true})
	body := map[string]string{"company_name": "Startup Ltd", "name": "Founder", "email": "Founder@Startup.example", "password": e2ePassword}
	r := s.expect(s.send("POST", "/api/v1/signup", "", body), 201, "")
	out := decodeAs[signupOut](t, r)
	if out.AccessToken == "" || out.TokenType != "bearer" || out.ExpiresIn != 3600 || out.Company.ID <= 0 || out.Company.Name != "Startup Ltd" ||
		out.User.Role != "admin" || out.User.Email != "founder@startup.example" || out.User.CompanyID != out.Company.ID {
		t.Fatalf("signup %s", r.body)
	}
	if strings.Contains(string(r.body), e2ePassword) || strings.Contains(string(r.body), "argon2") {
		t.Fatalf("signup leaks the password: %s", r.body)
	}
	me := decodeAs[userOut](t, s.expect(s.send("GET", "/api/v1/auth/me", out.AccessToken, nil), 200, ""))
	if me.ID != out.User.ID || me.CompanyID != out.Company.ID || me.Role != "admin" {
		t.Fatalf("me %+v", me)
	}
	c := decodeAs[companyOut](t, s.expect(s.send("GET", "/api/v1/companies/"+strconv.FormatInt(out.Company.ID, 10), testAdminToken, nil), 200, ""))
	if c.Name != "Startup Ltd" || !c.CreatedAt.Equal(out.Company.CreatedAt) || c.CreatedAt.IsZero() {
		t.Fatalf("company %+v, signup answered %+v", c, out.Company)
	}

	// Failures create nothing: no company, no schema, no lookup row.
	before, schemas := s.count("SELECT count(*) FROM public.companies"), len(s.tenantSchemas())
	body["email"] = "FOUNDER@startup.example"
	body["company_name"] = "Copycat"
	s.expect(s.send("POST", "/api/v1/signup", "", body), 409, "conflict")
	if r := s.expect(s.send("POST", "/api/v1/signup", "", map[string]string{"company_name": "", "name": "n", "email": "e@x.example", "password": e2ePassword}), 422, "invalid"); r.field() != "company_name" {
		t.Errorf("field %q", r.field())
	}
	s.expect(s.send("POST", "/api/v1/signup", "", `{"company_name":"X","name":"n","email":"e@x.example","password":"`+e2ePassword+`","role":"admin"}`), 400, "bad_request")
	if after := s.count("SELECT count(*) FROM public.companies"); after != before || len(s.tenantSchemas()) != schemas {
		t.Fatalf("failed signups left companies %d → %d", before, after)
	}
	if users, lookups := s.usersWithEmail("e@x.example"); users != 0 || lookups != 0 {
		t.Fatal("a failed signup wrote a user")
	}
}

func TestE2ESignupDisabled(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{signup: false})
	s.expect(s.send("POST", "/api/v1/signup", "", map[string]string{"company_name": "Nope", "name": "n", "email": "n@nope.example", "password": e2ePassword}), 403, "forbidden")
	if s.count("SELECT count(*) FROM public.companies") != 0 || len(s.tenantSchemas()) != 0 || s.count("SELECT count(*) FROM public.user_company_lookup") != 0 {
		t.Fatal("a disabled signup wrote something")
	}
}

func TestE2ELogin(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	a := s.createCompany("A")
	s.addUser(a, "alice@a.example", "user")
	s.addUser(a, "bob@a.example", "viewer")
	s.addUser(a, "carol@a.example", "viewer")

	t.Run("form and json", func(t *testing.T) {
		s := s.on(t)
		for _, body := range []any{
			url.Values{"username": {"Alice@A.example"}, "password": {e2ePassword}, "grant_type": {"password"}},
			map[string]string{"username": "alice@a.example", "password": e2ePassword},
		} {
			r := s.expect(s.send("POST", "/api/v1/auth/login", "", body), 200, "")
			tok := decodeAs[tokenOut](t, r)
			if tok.AccessToken == "" || tok.TokenType != "bearer" || tok.ExpiresIn != 3600 || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("token %s (%v)", r.body, r.header)
			}
			s.expect(s.send("GET", "/api/v1/auth/me", tok.AccessToken, nil), 200, "")
		}
		s.expect(s.send("POST", "/api/v1/auth/login", "", url.Values{"username": {"alice@a.example"}, "password": {e2ePassword}, "grant_type": {"client_credentials"}}), 400, "bad_request")
		s.expect(s.send("POST", "/api/v1/auth/login", "", `{"email":"alice@a.example","password":"x"}`), 400, "bad_request")
	})

	t.Run("unknown email and wrong password look the same", func(t *testing.T) {
		s := s.on(t)
		unknown := s.expect(s.send("POST", "/api/v1/auth/login", "", url.Values{"username": {"nobody@a.example"}, "password": {"wrong password"}}), 401, "unauthenticated")
		wrong := s.expect(s.send("POST", "/api/v1/auth/login", "", url.Values{"username": {"bob@a.example"}, "password": {"wrong password"}}), 401, "unauthenticated")
		malformed := s.expect(s.send("POST", "/api/v1/auth/login", "", `{"username":"not an email","password":"wrong password"}`), 401, "unauthenticated")
		if string(unknown.body) != string(wrong.body) || string(unknown.body) != string(malformed.body) {
			t.Fatalf("bodies differ:\n%s\n%s\n%s", unknown.body, wrong.body, malformed.body)
		}
		for _, h := range []string{"Content-Type", "WWW-Authenticate", "Content-Length"} {
			if unknown.header.Get(h) != wrong.header.Get(h) {
				t.Errorf("%s differs: %q vs %q", h, unknown.header.Get(h), wrong.header.Get(h))
			}
		}
		if s.count(`SELECT count(*) FROM public.audit_log WHERE action = 'login.failed'`) < 3 {
			t.Error("failed logins not audited")
		}
	})

	t.Run("failed logins are rate-limited per account", func(t *testing.T) {
		s := s.on(t)
		for range e2eLoginBurst {
			s.expect(s.send("POST", "/api/v1/auth/login", "", url.Values{"username": {"carol@a.example"}, "password": {"not her password"}}), 401, "unauthenticated")
		}
		r := s.expect(s.send("POST", "/api/v1/auth/login", "", url.Values{"username": {"CAROL@a.example"}, "password": {e2ePassword}}), 429, "too_many_requests")
		// One failure is forgiven per hour (the stack's limiter) and the
		// clock stands still: the wait is close to an hour, never more.
		if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 3000 || n > 3600 {
			t.Errorf("Retry-After %q, want the limiter's wait of about an hour", r.header.Get("Retry-After"))
		}
		// Other accounts are not affected.
		s.login("alice@a.example", e2ePassword)
	})
}

func TestE2EMe(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	a := s.createCompany("A")
	u, tok := s.addUser(a, "me@a.example", "viewer")
	r := s.expect(s.send("GET", "/api/v1/auth/me", tok, nil), 200, "")
	me := decodeAs[userOut](t, r)
	if me != u || me.CompanyID != int64(a) || me.Role != "viewer" || me.Email != "me@a.example" {
		t.Fatalf("me %+v, registered %+v", me, u)
	}
	var fields map[string]any
	_ = json.Unmarshal(r.body, &fields)
	if len(fields) != 7 || fields["password_hash"] != nil || fields["password"] != nil {
		t.Fatalf("me fields %v", fields)
	}
	s.expect(s.send("GET", "/api/v1/auth/me", "", nil), 401, "unauthenticated")
	s.expect(s.send("GET", "/api/v1/auth/me", testAdminToken, nil), 403, "forbidden")
}

// jwtPart encodes one JWT segment.
func jwtPart(v any) string {
	raw, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// signHS256 signs header.payload with secret.
func signHS256(secret []byte, signingInput string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signingInput))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// fixedClock is a ports.Clock stopped at one instant.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func TestE2ETokenAttacks(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	a := s.createCompany("A")
	b := s.createCompany("B")
	viewer, viewerTok := s.addUser(a, "viewer@a.example", "viewer")
	s.addUser(b, "admin@b.example", "admin")
	s.expect(s.send("GET", "/api/v1/auth/me", viewerTok, nil), 200, "")

	parts := strings.Split(viewerTok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWS", viewerTok)
	}
	var header, payload map[string]any
	hdrRaw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payRaw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hdrRaw, &header) != nil || json.Unmarshal(payRaw, &payload) != nil {
		t.Fatalf("token %q does not decode", viewerTok)
	}
	with := func(m map[string]any, k string, v any) map[string]any {
		c := make(map[string]any, len(m))
		for kk, vv := range m {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	issue := func(t *testing.T, cfg token.Config, c ports.Claims) string {
		t.Helper()
		iss, err := token.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := iss.Issue(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	base := token.Config{Secret: s.secret, Issuer: e2eIssuer, Audience: e2eAudience, TTL: time.Hour}
	claims := ports.Claims{UserID: viewer.ID, CompanyID: a, Role: domain.RoleViewer}
	otherSecret := []byte(strings.Repeat("k", 32))

	attacks := map[string]string{
		"empty signature":          parts[0] + "." + parts[1] + ".",
		"flipped signature":        parts[0] + "." + parts[1] + "." + flip(parts[2], 10),
		"role raised to admin":     parts[0] + "." + jwtPart(with(payload, "role", "admin")) + "." + parts[2],
		"company switched to B":    parts[0] + "." + jwtPart(with(payload, "company_id", int64(b))) + "." + parts[2],
		"alg none":                 jwtPart(with(header, "alg", "none")) + "." + parts[1] + ".",
		"alg none, role admin":     jwtPart(with(header, "alg", "none")) + "." + jwtPart(with(payload, "role", "admin")) + ".",
		"alg HS512 relabelled":     jwtPart(with(header, "alg", "HS512")) + "." + parts[1] + "." + parts[2],
		"signed with another key":  parts[0] + "." + parts[1] + "." + signHS256(otherSecret, parts[0]+"."+parts[1]),
		"no typ, resigned":         jwtPart(with(header, "typ", nil)) + "." + parts[1] + "." + signHS256(s.secret, jwtPart(with(header, "typ", nil))+"."+parts[1]),
		"no exp, resigned":         parts[0] + "." + jwtPart(with(payload, "exp", nil)) + "." + signHS256(s.secret, parts[0]+"."+jwtPart(with(payload, "exp", nil))),
		"two segments":             parts[0] + "." + parts[1],
		"garbage":                  "not.a.jwt",
		"expired":                  issue(t, withClock(base, fixedClock(time.Now().Add(-3*time.Hour))), claims),
		"issued in the future":     issue(t, withClock(base, fixedClock(time.Now().Add(2*time.Hour))), claims),
		"other audience":           issue(t, token.Config{Secret: s.secret, Issuer: e2eIssuer, Audience: "other-api", TTL: time.Hour}, claims),
		"other issuer":             issue(t, token.Config{Secret: s.secret, Issuer: "evil", Audience: e2eAudience, TTL: time.Hour}, claims),
		"user that does not exist": issue(t, base, ports.Claims{UserID: 999999, CompanyID: a, Role: domain.RoleAdmin}),
		"company that never was":   issue(t, base, ports.Claims{UserID: viewer.ID, CompanyID: 999999, Role: domain.RoleAdmin}),
	}
	for name, tok := range attacks {
		t.Run(name, func(t *testing.T) {
			s := s.on(t)
			r := s.expect(s.send("GET", "/api/v1/auth/me", tok, nil), 401, "unauthenticated")
			if !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
			s.expect(s.send("GET", "/api/v1/cloud-providers", tok, nil), 401, "unauthenticated")
		})
	}
	t.Run("the role comes from the database, not the token", func(t *testing.T) {
		s := s.on(t)
		tok := issue(t, base, ports.Claims{UserID: viewer.ID, CompanyID: a, Role: domain.RoleAdmin})
		me := decodeAs[userOut](t, s.expect(s.send("GET", "/api/v1/auth/me", tok, nil), 200, ""))
		if me.Role != "viewer" {
			t.Fatalf("me %+v", me)
		}
		s.expect(s.send("POST", "/api/v1/cloud-providers", tok, `{"name":"Escalated"}`), 403, "forbidden")
	})

	t.Run("token of a deleted company", func(t *testing.T) {
		s := s.on(t)
		gone := s.createCompany("Gone")
		tok := issue(t, base, ports.Claims{UserID: 1, CompanyID: gone, Role: domain.RoleAdmin})
		s.expect(s.send("GET", "/api/v1/auth/me", tok, nil), 401, "unauthenticated") // no such user yet
		rejectedBefore := s.count(`SELECT count(*) FROM public.audit_log WHERE action = 'token.rejected' AND company_id = ?`, int64(gone))
		s.expect(s.send("DELETE", "/api/v1/companies/"+gone.String(), testAdminToken, nil), 204, "")
		s.expect(s.send("GET", "/api/v1/auth/me", tok, nil), 401, "unauthenticated")
		s.expect(s.send("GET", "/api/v1/service-types", tok, nil), 401, "unauthenticated")
		// Refused because the company is gone (the directory was invalidated),
		// not only because the user is missing.
		if after := s.count(`SELECT count(*) FROM public.audit_log WHERE action = 'token.rejected' AND company_id = ?`, int64(gone)); after < rejectedBefore+2 {
			t.Fatalf("token.rejected events for the deleted company: %d → %d", rejectedBefore, after)
		}
	})

	t.Run("the valid token still works", func(t *testing.T) {
		s := s.on(t)
		s.expect(s.send("GET", "/api/v1/auth/me", viewerTok, nil), 200, "")
	})
}

// parseTime parses an RFC 3339 timestamp of a response.
func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return v
}

// withClock returns cfg with clock set.
func withClock(cfg token.Config, clock ports.Clock) token.Config {
	cfg.Clock = clock
	return cfg
}

func TestE2EReferenceData(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	a := s.createCompany("A")
	b := s.createCompany("B")
	_, adminA := s.addUser(a, "admin@a.example", "admin")
	_, userA := s.addUser(a, "user@a.example", "user")
	_, viewerA := s.addUser(a, "viewer@a.example", "viewer")
	_, adminB := s.addUser(b, "admin@b.example", "admin")

	type list struct {
		Items      []itemOut `json:"items"`
		NextCursor *string   `json:"next_cursor"`
	}
	names := func(l list) []string {
		var out []string
		for _, it := range l.Items {
			out = append(out, it.Name)
		}
		return out
	}
	rows := func(schema, table string) int {
		return s.count(`SELECT count(*) FROM "` + schema + `".` + table)
	}

	t.Run("seeded lists", func(t *testing.T) {
		s := s.on(t)
		for _, k := range []struct {
			path string
			kind domain.RefKind
		}{{"cloud-providers", domain.CloudProviders}, {"registry-providers", domain.RegistryProviders}, {"service-types", domain.ServiceTypes}} {
			l := decodeAs[list](t, s.expect(s.send("GET", "/api/v1/"+k.path, viewerA, nil), 200, ""))
			if !slices.Equal(names(l), domain.DefaultReferenceData[k.kind]) || l.NextCursor != nil {
				t.Errorf("%s: %v (cursor %v)", k.path, names(l), l.NextCursor)
			}
		}
	})

	t.Run("pagination", func(t *testing.T) {
		s := s.on(t)
		var got []string
		path := "/api/v1/registry-providers?limit=3"
		pages := 0
		for pages < 10 {
			l := decodeAs[list](t, s.expect(s.send("GET", path, userA, nil), 200, ""))
			pages++
			got = append(got, names(l)...)
			if l.NextCursor == nil {
				break
			}
			path = "/api/v1/registry-providers?limit=3&cursor=" + url.QueryEscape(*l.NextCursor)
		}
		if !slices.Equal(got, domain.DefaultReferenceData[domain.RegistryProviders]) || pages != 3 {
			t.Fatalf("%v in %d pages", got, pages)
		}
		l := decodeAs[list](t, s.expect(s.send("GET", "/api/v1/registry-providers?limit=100000", userA, nil), 200, ""))
		if len(l.Items) != 8 || l.NextCursor != nil {
			t.Fatalf("clamped list %v", names(l))
		}
		for _, q := range []string{"?limit=0", "?limit=-3", "?limit=ten", "?limit=2.5"} {
			if r := s.expect(s.send("GET", "/api/v1/registry-providers"+q, userA, nil), 400, "bad_request"); r.field() != "limit" {
				t.Errorf("%s: field %q", q, r.field())
			}
		}
		for _, c := range []string{"%27%20OR%201%3D1", "MA", "LTE", "zzzz", "MQ%3D%3D"} {
			if r := s.expect(s.send("GET", "/api/v1/registry-providers?cursor="+c, userA, nil), 400, "bad_request"); r.field() != "cursor" {
				t.Errorf("%s: field %q", c, r.field())
			}
		}
	})

	var hetzner itemOut
	t.Run("create", func(t *testing.T) {
		s := s.on(t)
		r := s.expect(s.send("POST", "/api/v1/cloud-providers", adminA, `{"name":"Hetzner","description":"German cloud"}`), 201, "")
		hetzner = decodeAs[itemOut](t, r)
		if hetzner.ID <= 0 || hetzner.Name != "Hetzner" || hetzner.Description != "German cloud" || r.header.Get("Location") != "/api/v1/cloud-providers/"+strconv.FormatInt(hetzner.ID, 10) {
			t.Fatalf("created %s", r.body)
		}
		got := decodeAs[itemOut](t, s.expect(s.send("GET", "/api/v1/cloud-providers/"+strconv.FormatInt(hetzner.ID, 10), viewerA, nil), 200, ""))
		if got != hetzner {
			t.Fatalf("read %+v, want %+v", got, hetzner)
		}
		for _, dup := range []string{"hetzner", "HETZNER", "  Hetzner ", "aws"} {
			s.expect(s.send("POST", "/api/v1/cloud-providers", adminA, map[string]string{"name": dup}), 409, "conflict")
		}
		// The same name in another tenant is fine.
		s.expect(s.send("POST", "/api/v1/cloud-providers", adminB, `{"name":"Hetzner"}`), 201, "")
		if rows(a.Schema(), "cloud_providers") != 7 || rows(b.Schema(), "cloud_providers") != 7 {
			t.Fatal("unexpected row counts")
		}
	})

	t.Run("roles", func(t *testing.T) {
		s := s.on(t)
		before := rows(a.Schema(), "cloud_providers")
		id := strconv.FormatInt(hetzner.ID, 10)
		for _, tok := range []string{userA, viewerA} {
			s.expect(s.send("POST", "/api/v1/cloud-providers", tok, `{"name":"Linode"}`), 403, "forbidden")
			s.expect(s.send("PATCH", "/api/v1/cloud-providers/"+id, tok, `{"name":"Linode"}`), 403, "forbidden")
			s.expect(s.send("DELETE", "/api/v1/cloud-providers/"+id, tok, nil), 403, "forbidden")
		}
		s.expect(s.send("POST", "/api/v1/cloud-providers", "", `{"name":"Linode"}`), 401, "unauthenticated")
		s.expect(s.send("POST", "/api/v1/cloud-providers", testAdminToken, `{"name":"Linode"}`), 403, "forbidden")
		if rows(a.Schema(), "cloud_providers") != before || s.count(`SELECT count(*) FROM "`+a.Schema()+`".cloud_providers WHERE name = 'Hetzner'`) != 1 {
			t.Fatal("a refused write changed something")
		}
	})

	t.Run("isolation", func(t *testing.T) {
		s := s.on(t)
		r := s.expect(s.send("POST", "/api/v1/service-types", adminB, `{"name":"B only","description":"secret of B"}`), 201, "")
		bItem := decodeAs[itemOut](t, r)
		bPath := "/api/v1/service-types/" + strconv.FormatInt(bItem.ID, 10)
		s.expect(s.send("GET", bPath, adminA, nil), 404, "not_found")
		s.expect(s.send("PATCH", bPath, adminA, `{"name":"stolen"}`), 404, "not_found")
		s.expect(s.send("DELETE", bPath, adminA, nil), 404, "not_found")
		if s.count(`SELECT count(*) FROM "`+b.Schema()+`".service_types WHERE id = ? AND name = 'B only' AND description = 'secret of B'`, bItem.ID) != 1 {
			t.Fatal("tenant A changed tenant B's row")
		}
		l := decodeAs[list](t, s.expect(s.send("GET", "/api/v1/service-types?limit=200", adminA, nil), 200, ""))
		if slices.Contains(names(l), "B only") {
			t.Fatal("tenant A lists tenant B's row")
		}
		// Seeded ids exist in both tenants; each sees its own row.
		s.expect(s.send("PATCH", "/api/v1/service-types/1", adminA, `{"description":"A's API"}`), 200, "")
		got := decodeAs[itemOut](t, s.expect(s.send("GET", "/api/v1/service-types/1", adminB, nil), 200, ""))
		if got.Description != "" {
			t.Fatalf("tenant B sees tenant A's change: %+v", got)
		}
	})

	t.Run("update and delete", func(t *testing.T) {
		s := s.on(t)
		p := "/api/v1/cloud-providers/" + strconv.FormatInt(hetzner.ID, 10)
		got := decodeAs[itemOut](t, s.expect(s.send("PATCH", p, adminA, `{"name":"Hetzner Cloud"}`), 200, ""))
		if got.Name != "Hetzner Cloud" || got.Description != "German cloud" || parseTime(t, got.UpdatedAt).Before(parseTime(t, got.CreatedAt)) {
			t.Fatalf("patched %+v", got)
		}
		got = decodeAs[itemOut](t, s.expect(s.send("PATCH", p, adminA, `{"description":""}`), 200, ""))
		if got.Name != "Hetzner Cloud" || got.Description != "" {
			t.Fatalf("patched %+v", got)
		}
		s.expect(s.send("PATCH", p, adminA, `{"name":"gcp"}`), 409, "conflict")
		if r := s.expect(s.send("PATCH", p, adminA, `{"name":""}`), 422, "invalid"); r.field() != "name" {
			t.Errorf("field %q", r.field())
		}
		if r := s.expect(s.send("PATCH", p, adminA, `{"description":"`+strings.Repeat("d", 2001)+`"}`), 422, "invalid"); r.field() != "description" {
			t.Errorf("field %q", r.field())
		}
		s.expect(s.send("PATCH", p, adminA, `{"name":"x","id":1}`), 400, "bad_request")
		s.expect(s.send("PATCH", p, adminA, `{"name":"x"`), 400, "bad_request")
		if s.count(`SELECT count(*) FROM "`+a.Schema()+`".cloud_providers WHERE id = ? AND name = 'Hetzner Cloud' AND description = ''`, hetzner.ID) != 1 {
			t.Fatal("a refused update changed the row")
		}
		r := s.expect(s.send("DELETE", p, adminA, nil), 204, "")
		if len(r.body) != 0 {
			t.Errorf("204 body %q", r.body)
		}
		s.expect(s.send("GET", p, adminA, nil), 404, "not_found")
		s.expect(s.send("DELETE", p, adminA, nil), 404, "not_found")
		s.expect(s.send("PATCH", p, adminA, `{"name":"back"}`), 404, "not_found")
	})

	t.Run("injection strings", func(t *testing.T) {
		s := s.on(t)
		for _, name := range []string{`'; DROP TABLE cloud_providers; --`, `1;DROP SCHEMA company_1`, `100% _match_`, `"quoted" \ back`} {
			r := s.expect(s.send("POST", "/api/v1/cloud-providers", adminA, map[string]string{"name": name, "description": name}), 201, "")
			it := decodeAs[itemOut](t, r)
			if it.Name != name || it.Description != name {
				t.Fatalf("stored %+v, want %q", it, name)
			}
			back := decodeAs[itemOut](t, s.expect(s.send("GET", "/api/v1/cloud-providers/"+strconv.FormatInt(it.ID, 10), adminA, nil), 200, ""))
			if back.Name != name {
				t.Fatalf("read back %q", back.Name)
			}
		}
		for _, id := range []string{"0", "-1", "01", "1;DROP%20SCHEMA%20company_1", "..%2F1", "%27", "1%20OR%201=1", "99999999999999999999"} {
			s.expect(s.send("GET", "/api/v1/cloud-providers/"+id, adminA, nil), 404, "not_found")
			s.expect(s.send("DELETE", "/api/v1/cloud-providers/"+id, adminA, nil), 404, "not_found")
			s.expect(s.send("PATCH", "/api/v1/cloud-providers/"+id, adminA, `{"name":"x"}`), 404, "not_found")
		}
		if !slices.Contains(s.tenantSchemas(), a.Schema()) || rows(a.Schema(), "cloud_providers") != 10 {
			t.Fatalf("rows %d", rows(a.Schema(), "cloud_providers"))
		}
	})

	t.Run("oversized and malformed bodies write nothing", func(t *testing.T) {
		s := s.on(t)
		before := rows(a.Schema(), "registry_providers")
		s.expect(s.send("POST", "/api/v1/registry-providers", adminA, `{"name":"big","description":"`+strings.Repeat("x", 1<<20)+`"}`), 413, "payload_too_large")
		s.expect(s.send("POST", "/api/v1/registry-providers", adminA, `{"name":"x","extra":true}`), 400, "bad_request")
		s.expect(s.send("POST", "/api/v1/registry-providers", adminA, `{"name":"x"}{"name":"y"}`), 400, "bad_request")
		r := s.send("POST", "/api/v1/registry-providers", adminA, nil, "Content-Type", "text/plain")
		s.expect(r, 415, "unsupported_media_type")
		if rows(a.Schema(), "registry_providers") != before {
			t.Fatal("a refused body wrote something")
		}
	})
}

func TestE2EAdminDisabled(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{noAdmin: true, signup: true})
	for _, tok := range []string{"", testAdminToken, "anything"} {
		s.expect(s.send("POST", "/api/v1/companies", tok, `{"name":"x"}`), 404, "not_found")
		s.expect(s.send("GET", "/api/v1/companies", tok, nil), 404, "not_found")
		s.expect(s.send("DELETE", "/api/v1/companies/1", tok, nil), 404, "not_found")
	}
	if s.count("SELECT count(*) FROM public.companies") != 0 {
		t.Fatal("a disabled admin endpoint wrote something")
	}
	// The tenant side still works: signup, then the new admin registers a user.
	r := s.expect(s.send("POST", "/api/v1/signup", "", map[string]string{"company_name": "Solo", "name": "Founder", "email": "f@solo.example", "password": e2ePassword}), 201, "")
	tok := decodeAs[tokenOut](t, r).AccessToken
	s.expect(s.send("POST", "/api/v1/auth/register", tok, map[string]string{"name": "Second", "email": "s@solo.example", "password": e2ePassword}), 201, "")
	s.expect(s.send("POST", "/api/v1/auth/register", testAdminToken, map[string]any{"name": "X", "email": "x@solo.example", "password": e2ePassword, "company_id": 1}), 401, "unauthenticated")
}
