package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/clock"
	"github.com/schemata/schemata/adapters/httpapi"
	"github.com/schemata/schemata/adapters/password"
	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/adapters/postgres/pgtest"
	"github.com/schemata/schemata/adapters/ratelimit"
	"github.com/schemata/schemata/adapters/token"
	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/migrations"
	"github.com/schemata/schemata/tenancy"
)

// BenchmarkHTTPRead measures one component read over HTTP:
//
//   - baseline: a plain net/http handler doing the same single-row read
//     (the component and its tags, one statement) from the schema-qualified
//     table "company_<id>".components on the same *bun.DB, encoded with
//     encoding/json — no router, middleware, authentication or tenancy;
//   - api: GET /api/v1/components/{id} through the whole stack: chi router,
//     middleware (request id, access log, recoverer, security headers, body
//     limit), JWT verification, tenant directory, principal cache, app use
//     case, unit of work, repository, DTO.
//
// Both are served by httptest servers over loopback and called through one
// shared keep-alive client, in the same run, after one setup. Goal:
// api/baseline ≤ 1.3. Run it with
//
//	go test -run '^$' -bench BenchmarkHTTPRead -benchtime=2000x ./adapters/httpapi/
func BenchmarkHTTPRead(b *testing.B) {
	env := newReadBench(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)

	baselineURL := env.baseline.URL + "/components/" + strconv.FormatInt(env.componentID, 10)
	apiURL := env.api.URL + "/api/v1/components/" + strconv.FormatInt(env.componentID, 10)

	// Both answer the same document for the same row, or the comparison
	// means nothing.
	want := readBenchGet(b, client, baselineURL, "")
	got := readBenchGet(b, client, apiURL, env.token)
	var wantDoc, gotDoc map[string]any
	if err := json.Unmarshal(want, &wantDoc); err != nil {
		b.Fatalf("baseline answer %s: %v", want, err)
	}
	if err := json.Unmarshal(got, &gotDoc); err != nil {
		b.Fatalf("api answer %s: %v", got, err)
	}
	if !reflect.DeepEqual(wantDoc, gotDoc) {
		b.Fatalf("the baseline and the API answer differently:\nbaseline %s\napi      %s", want, got)
	}

	b.Run("baseline", func(b *testing.B) {
		for b.Loop() {
			readBenchGet(b, client, baselineURL, "")
		}
	})
	b.Run("api", func(b *testing.B) {
		for b.Loop() {
			readBenchGet(b, client, apiURL, env.token)
		}
	})
}

// readBenchGet performs one GET and returns the body; anything but a 200 ends
// the benchmark.
func readBenchGet(b *testing.B, client *http.Client, u, bearer string) []byte {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %s %v", u, res.StatusCode, body, err)
	}
	return body
}

// readBench is the one setup of BenchmarkHTTPRead.
type readBench struct {
	baseline, api *httptest.Server
	componentID   int64
	token         string
}

// newReadBench builds the production stack (as cmd/schemata wires it, minus
// fx) on a fresh database, creates a company, an admin, a team and a
// component with tags through the API, and serves both handlers.
func newReadBench(b *testing.B) readBench {
	b.Helper()
	ctx := context.Background()
	db, err := postgres.Open(pgtest.NewDatabase(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if err := postgres.MigratePublic(ctx, db, migrations.Public()); err != nil {
		b.Fatal(err)
	}
	ts, err := postgres.LoadTenantSchema(migrations.Tenant(), postgres.ReferenceSeed)
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.System{}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	issuer, err := token.New(token.Config{Secret: secret, Issuer: "schemata-bench", Audience: "schemata-api", TTL: time.Hour, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	hasher, err := password.New(password.Config{})
	if err != nil {
		b.Fatal(err)
	}
	limiter, err := ratelimit.New(ratelimit.Config{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	uow := postgres.NewUnitOfWork(db)
	companies := postgres.NewCompanyRepository(db)
	users := postgres.NewUserRepository(db)
	lookup := postgres.NewEmailLookup(db)
	audit := postgres.NewAuditLog(db)
	activity := postgres.NewActivityLog(db)
	prov := postgres.NewProvisioner(db, ts)
	dir := tenancy.NewDirectory(companies, 0)
	principals := app.NewPrincipalCache(app.DefaultPrincipalTTL, clk)
	auth := app.NewAuth(app.AuthDeps{UoW: uow, Directory: dir, Provisioner: prov, Users: users, Lookup: lookup,
		Invitations: postgres.NewInvitationRepository(db), Audit: audit, Activity: activity, Hasher: hasher, Tokens: issuer, Clock: clk,
		Limiter: limiter, Principals: principals}, app.AuthConfig{DummyPHC: hasher.DummyPHC()})
	svc := httpapi.Services{
		Companies: app.NewCompanies(prov, companies, dir, users, audit),
		Auth:      auth,
		Reference: app.NewReference(uow, postgres.NewReferenceRepository(db), activity),
		Users:     app.NewUsers(uow, users, postgres.NewUserAdmin(db), lookup, hasher, activity, audit, principals),
		Teams:     app.NewTeams(uow, postgres.NewTeamRepository(db), activity),
		Components: app.NewComponents(uow, postgres.NewComponentRepository(db), postgres.NewVersionRepository(db),
			activity),
		Tags:         app.NewTags(uow, postgres.NewTagRepository(db), activity),
		Environments: app.NewEnvironments(uow, postgres.NewEnvironmentRepository(db), activity),
		Deployments:  app.NewDeployments(uow, postgres.NewDeploymentRepository(db), clk, activity),
		Activity:     app.NewActivity(uow, activity),
		Fleet:        app.NewFleet(postgres.NewTenantMigrator(db, ts)),
		Pinger:       postgres.Pinger{DB: db},
	}
	// Access logs are formatted as in production and thrown away.
	log := slog.New(httpapi.NewLogHandler(slog.NewJSONHandler(io.Discard, nil)))
	api := httptest.NewServer(httpapi.NewRouter(httpapi.Config{AdminToken: testAdminToken}, svc, log))
	b.Cleanup(api.Close)

	// The data, through the API.
	call := func(method, path, bearer string, body any, status int) []byte {
		b.Helper()
		var rd io.Reader
		ct := "application/json"
		switch v := body.(type) {
		case nil:
		case url.Values:
			rd, ct = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
		default:
			raw, err := json.Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		}
		req, err := http.NewRequest(method, api.URL+path, rd)
		if err != nil {
			b.Fatal(err)
		}
		if rd != nil {
			req.Header.Set("Content-Type", ct)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := api.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		if res.StatusCode != status {
			b.Fatalf("%s %s: %d %s", method, path, res.StatusCode, out)
		}
		return out
	}
	field := func(raw []byte, name string) any {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			b.Fatalf("decode %s: %v", raw, err)
		}
		return m[name]
	}
	company := int64(field(call("POST", "/api/v1/companies", testAdminToken, map[string]any{"name": "Bench"}, 201), "id").(float64))
	const pw = "correct horse battery staple"
	call("POST", "/api/v1/auth/register", testAdminToken, map[string]any{"name": "Reader", "email": "reader@bench.test",
		"password": pw, "company_id": company, "role": "admin"}, 201)
	tok := field(call("POST", "/api/v1/auth/login", "", url.Values{"username": {"reader@bench.test"}, "password": {pw}}, 200),
		"access_token").(string)
	team := field(call("POST", "/api/v1/teams", tok, map[string]any{"name": "Payments"}, 201), "id")
	var types struct {
		Items []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.Unmarshal(call("GET", "/api/v1/service-types", tok, nil, 200), &types); err != nil || len(types.Items) == 0 {
		b.Fatalf("service types: %v", err)
	}
	component := int64(field(call("POST", "/api/v1/components", tok, map[string]any{
		"name": "payments-api", "description": "Takes the money.", "service_type_id": types.Items[0].ID, "team_id": team,
		"lifecycle": "production", "tier": 1, "repository_url": "https://git.example.com/acme/payments",
		"tags": []string{"pci", "team:payments", "tier-1"},
	}, 201), "id").(float64))

	baseline := httptest.NewServer(baselineComponentHandler(db, tenancy.CompanyID(company)))
	b.Cleanup(baseline.Close)
	return readBench{baseline: baseline, api: api, componentID: component, token: tok}
}

// baselineComponent is the row and the JSON answer of the baseline handler
// (the same fields, names and order as the API's component).
type baselineComponent struct {
	ID                 int64     `bun:"id" json:"id"`
	Name               string    `bun:"name" json:"name"`
	Description        string    `bun:"description" json:"description"`
	ServiceTypeID      int64     `bun:"service_type_id" json:"service_type_id"`
	TeamID             int64     `bun:"team_id" json:"team_id"`
	Lifecycle          string    `bun:"lifecycle" json:"lifecycle"`
	Tier               *int      `bun:"tier" json:"tier"`
	RepositoryURL      string    `bun:"repository_url" json:"repository_url"`
	RegistryProviderID *int64    `bun:"registry_provider_id" json:"registry_provider_id"`
	ImageRepository    string    `bun:"image_repository" json:"image_repository"`
	Tags               []string  `bun:"tags,array" json:"tags"`
	CreatedAt          time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt          time.Time `bun:"updated_at" json:"updated_at"`
}

// baselineComponentHandler serves GET /components/{id} of one tenant with one
// statement on the schema-qualified tables: the physical limit of the read.
func baselineComponentHandler(db *bun.DB, company tenancy.CompanyID) http.Handler {
	schema := bun.Ident(company.Schema())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/components/"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		var c baselineComponent
		err = db.NewRaw(`SELECT c.id, c.name, c.description, c.service_type_id, c.team_id, c.lifecycle, c.tier,
			c.repository_url, c.registry_provider_id, c.image_repository, c.created_at, c.updated_at,
			ARRAY(SELECT tg.name FROM ?.component_tags AS ct JOIN ?.tags AS tg ON tg.id = ct.tag_id
				WHERE ct.component_id = c.id ORDER BY tg.name COLLATE "C") AS tags
			FROM ?.components AS c WHERE c.id = ?`, schema, schema, schema, id).Scan(r.Context(), &c)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		body, err := json.Marshal(c)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
		_, _ = w.Write(append(body, '\n'))
	})
}
