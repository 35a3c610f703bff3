package httpapi_test

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schemata/schemata/tenancy"
)

// The catalog story: two companies run their service catalogs side by side
// on one stack. Company A (Acme) has admins, users and viewers, four teams,
// components of several service types with tags and dependencies, versions,
// three environments and deployments across them; company B (Globex) has a
// smaller catalog whose ids overlap A's lowest ones. The subtests then check
// isolation, roles, pagination, filters, conflicts, delete refusals, the
// deployment ledger, user management, activity, and that no bad input ever
// gets a 500 or changes anything.

// person is a user of the story with its access token.
type person struct {
	userOut
	tok string
}

// expectedActivity is a write the activity log must show.
type expectedActivity struct {
	action, entityType string
	entityID, actorID  int64
}

// story is the state both companies are in once the story is told.
type story struct {
	s    *stack
	a, b tenancy.CompanyID

	adminA, userA, viewerA, dev1, dev2 person
	adminB, userB, viewerB             person

	// Reference data of A by name.
	serviceTypes, cloudProviders, registryProviders map[string]int64

	teams map[string]teamOut      // A's teams by name: payments, platform, search, empty
	comps map[string]componentOut // A's components by name
	envs  map[string]environmentOut
	vers  map[string]versionOut // "component@version"
	deps  []deploymentOut       // A's deployments, in the order they were recorded
	base  time.Time             // deployed_at of the story are relative to it

	// B's catalog: one of each.
	teamB      teamOut
	compB      componentOut
	envB       environmentOut
	versionB   versionOut
	deploymenB deploymentOut

	activity []expectedActivity // writes in A, in order
}

func (st *story) person(c tenancy.CompanyID, email, role string) person {
	st.s.t.Helper()
	u, tok := st.s.addUser(c, email, role)
	return person{userOut: u, tok: tok}
}

// write sends a successful write in A and remembers its activity entry.
func write[T any](st *story, method, p string, by person, body any, status int, action, entityType string, entityID func(T) int64) T {
	st.s.t.Helper()
	v := callAs[T](st.s, method, p, by.tok, body, status)
	st.activity = append(st.activity, expectedActivity{action: action, entityType: entityType, entityID: entityID(v), actorID: by.ID})
	return v
}

func newStory(t *testing.T) *story {
	t.Helper()
	s := newStack(t, stackOptions{})
	st := &story{s: s, teams: map[string]teamOut{}, comps: map[string]componentOut{}, envs: map[string]environmentOut{},
		vers: map[string]versionOut{}}
	st.a = s.createCompany("Acme")
	st.b = s.createCompany("Globex")
	st.adminA = st.person(st.a, "admin@acme.example", "admin")
	st.userA = st.person(st.a, "user@acme.example", "user")
	st.viewerA = st.person(st.a, "viewer@acme.example", "viewer")
	st.dev1 = st.person(st.a, "dev1@acme.example", "user")
	st.dev2 = st.person(st.a, "dev2@acme.example", "user")
	st.adminB = st.person(st.b, "admin@globex.example", "admin")
	st.userB = st.person(st.b, "user@globex.example", "user")
	st.viewerB = st.person(st.b, "viewer@globex.example", "viewer")

	st.serviceTypes = refIDs(s, "service-types", st.viewerA.tok)
	st.cloudProviders = refIDs(s, "cloud-providers", st.viewerA.tok)
	st.registryProviders = refIDs(s, "registry-providers", st.viewerA.tok)

	// Teams and members (a user may manage teams).
	for _, name := range []string{"Payments", "Platform", "Search", "Empty"} {
		tm := write(st, "POST", path("teams"), st.userA, map[string]string{"name": name, "description": name + " team"}, 201,
			"create", "team", func(t teamOut) int64 { return t.ID })
		st.teams[strings.ToLower(name)] = tm
	}
	for _, m := range []struct {
		team string
		who  person
	}{{"payments", st.userA}, {"payments", st.dev1}, {"payments", st.dev2}, {"platform", st.dev2}} {
		write(st, "POST", path("teams", st.teams[m.team].ID, "members"), st.userA, map[string]int64{"user_id": m.who.ID}, 201,
			"add_member", "team", func(mo memberOut) int64 { return mo.TeamID })
	}

	// Components of several service types.
	tier := func(n int) *int { return &n }
	ghcr := st.registryProviders["GitHub CR"]
	for _, c := range []struct {
		name, serviceType, team, lifecycle string
		tier                               *int
		tags                               []string
		image                              bool
	}{
		{"payments-api", "API", "payments", "production", tier(1), []string{"pci", "lang:go"}, true},
		{"payments-worker", "Worker", "payments", "production", tier(2), []string{"lang:go", "pci"}, false},
		{"checkout_web", "Frontend", "payments", "", nil, []string{"lang:ts"}, false},
		{"checkoutxweb-legacy", "Frontend", "platform", "deprecated", tier(4), nil, false},
		{"search-api", "API", "search", "production", tier(2), []string{"lang:java"}, false},
		{"search.indexer", "Worker", "search", "experimental", nil, []string{"lang:java", "batch"}, false},
		{"platform-gateway", "Microservice", "platform", "production", tier(1), []string{"edge"}, false},
		{"orders-db", "Database", "platform", "production", tier(1), []string{"pci"}, false},
	} {
		body := map[string]any{"name": c.name, "description": "The " + c.name, "service_type_id": st.serviceTypes[c.serviceType],
			"team_id": st.teams[c.team].ID, "tier": c.tier, "tags": c.tags,
			"repository_url": "https://git.example/acme/" + c.name}
		if c.lifecycle != "" {
			body["lifecycle"] = c.lifecycle
		}
		if c.image {
			body["registry_provider_id"] = ghcr
			body["image_repository"] = "ghcr.io/acme/" + c.name
		}
		st.comps[c.name] = write(st, "POST", path("components"), st.userA, body, 201,
			"create", "component", func(c componentOut) int64 { return c.ID })
	}
	for _, d := range [][2]string{
		{"checkout_web", "payments-api"}, {"checkout_web", "search-api"}, {"checkout_web", "platform-gateway"},
		{"payments-worker", "payments-api"}, {"platform-gateway", "payments-api"}, {"payments-api", "orders-db"},
	} {
		write(st, "POST", path("components", st.comps[d[0]].ID, "dependencies", st.comps[d[1]].ID), st.dev1, nil, 201,
			"add_dependency", "component", func(l dependencyOut) int64 { return l.ComponentID })
	}

	// Versions, created out of precedence order.
	for _, v := range []struct{ comp, version string }{
		{"payments-api", "1.2.0"}, {"payments-api", "1.0.0+a"}, {"payments-api", "2.0.0"}, {"payments-api", "1.10.0"},
		{"payments-api", "2.0.0-rc.1"}, {"payments-api", "2.0.0-alpha"}, {"search-api", "0.9.0"}, {"search-api", "1.0.0"},
	} {
		body := map[string]string{"version": v.version, "git_sha": "0123abc", "notes": "release " + v.version,
			"image_digest": "sha256:" + strings.Repeat("ab", 32)}
		st.vers[v.comp+"@"+v.version] = write(st, "POST", path("components", st.comps[v.comp].ID, "versions"), st.dev2, body, 201,
			"create", "version", func(v versionOut) int64 { return v.ID })
	}

	// Three environments.
	for _, e := range []struct{ name, category, cloud, region string }{
		{"development", "development", "AWS", "eu-west-1"},
		{"staging", "staging", "AWS", "eu-west-1"},
		{"production", "production", "GCP", "europe-west1"},
	} {
		st.envs[e.name] = write(st, "POST", path("environments"), st.userA, map[string]any{"name": e.name, "category": e.category,
			"cloud_provider_id": st.cloudProviders[e.cloud], "region": e.region}, 201,
			"create", "environment", func(e environmentOut) int64 { return e.ID })
	}

	// Deployments across them, one of them late and older, one failed.
	st.base = s.clock.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	for _, d := range []struct {
		comp, version, env, status string
		at                         time.Duration // after base; -1 for "now" (deployed_at omitted)
	}{
		{"payments-api", "1.2.0", "development", "", time.Hour},
		{"payments-api", "1.10.0", "staging", "succeeded", 2 * time.Hour},
		{"payments-api", "2.0.0", "production", "succeeded", 3 * time.Hour},
		{"payments-api", "1.2.0", "production", "succeeded", 30 * time.Minute},   // late and older: current stays 2.0.0
		{"payments-api", "2.0.0-rc.1", "production", "failed", 4 * time.Hour},    // failed: current stays 2.0.0
		{"payments-api", "2.0.0-alpha", "staging", "in_progress", 6 * time.Hour}, // not a success
		{"payments-api", "2.0.0-rc.1", "staging", "rolled_back", 6 * time.Hour},  // not a success
		{"search-api", "1.0.0", "production", "succeeded", time.Hour},
		{"search-api", "0.9.0", "development", "", -1},
		{"payments-api", "2.0.0", "staging", "succeeded", 5 * time.Hour},
	} {
		body := map[string]any{"component_id": st.comps[d.comp].ID, "environment_id": st.envs[d.env].ID,
			"version_id": st.vers[d.comp+"@"+d.version].ID}
		if d.status != "" {
			body["status"] = d.status
		}
		if d.at >= 0 {
			body["deployed_at"] = st.base.Add(d.at).Format(time.RFC3339)
		}
		st.deps = append(st.deps, write(st, "POST", path("deployments"), st.dev1, body, 201,
			"create", "deployment", func(d deploymentOut) int64 { return d.ID }))
	}

	// B: one of each, so that B's ids are A's lowest ones.
	st.teamB = callAs[teamOut](s, "POST", path("teams"), st.userB.tok, map[string]string{"name": "Payments"}, 201)
	st.compB = callAs[componentOut](s, "POST", path("components"), st.userB.tok, map[string]any{"name": "payments-api",
		"service_type_id": 1, "team_id": st.teamB.ID, "tags": []string{"b-only"}}, 201)
	st.envB = callAs[environmentOut](s, "POST", path("environments"), st.userB.tok, map[string]any{"name": "production",
		"category": "production", "cloud_provider_id": 1}, 201)
	st.versionB = callAs[versionOut](s, "POST", path("components", st.compB.ID, "versions"), st.userB.tok, map[string]string{"version": "9.9.9"}, 201)
	st.deploymenB = callAs[deploymentOut](s, "POST", path("deployments"), st.userB.tok, map[string]any{"component_id": st.compB.ID,
		"environment_id": st.envB.ID, "version_id": st.versionB.ID}, 201)
	return st
}

func TestE2ECatalogStory(t *testing.T) {
	t.Parallel()
	st := newStory(t)
	s := st.s
	a, b := st.a, st.b

	t.Run("the story reads back", func(t *testing.T) {
		s := s.on(t)
		api := st.comps["payments-api"]
		if api.Lifecycle != "production" || api.Tier == nil || *api.Tier != 1 || !slices.Equal(api.Tags, []string{"lang:go", "pci"}) ||
			api.RegistryProviderID == nil || *api.RegistryProviderID != st.registryProviders["GitHub CR"] ||
			api.ImageRepository != "ghcr.io/acme/payments-api" || api.TeamID != st.teams["payments"].ID ||
			api.ServiceTypeID != st.serviceTypes["API"] || api.CreatedAt.IsZero() {
			t.Fatalf("payments-api %+v", api)
		}
		web := st.comps["checkout_web"]
		if web.Lifecycle != "experimental" || web.Tier != nil || web.RegistryProviderID != nil || web.Tags == nil {
			t.Fatalf("checkout_web (defaults) %+v", web)
		}
		if got := callAs[componentOut](s, "GET", path("components", api.ID), st.viewerA.tok, nil, 200); !sameComponent(got, api) {
			t.Fatalf("GET %+v, created %+v", got, api)
		}
		r := s.expect(s.send("GET", path("components", web.ID), st.viewerA.tok, nil), 200, "")
		for _, want := range []string{`"tier":null`, `"registry_provider_id":null`} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("%s lacks %s", r.body, want)
			}
		}
		if got := callAs[teamOut](s, "GET", path("teams", st.teams["search"].ID), st.viewerA.tok, nil, 200); got != st.teams["search"] {
			t.Errorf("team %+v, want %+v", got, st.teams["search"])
		}
		if got := callAs[environmentOut](s, "GET", path("environments", st.envs["production"].ID), st.viewerA.tok, nil, 200); got != st.envs["production"] {
			t.Errorf("environment %+v", got)
		}
		v := st.vers["payments-api@1.2.0"]
		if got := callAs[versionOut](s, "GET", path("components", api.ID, "versions", v.ID), st.viewerA.tok, nil, 200); got != v ||
			v.ComponentID != api.ID || v.GitSHA != "0123abc" || v.Notes != "release 1.2.0" {
			t.Errorf("version %+v", got)
		}
		d := st.deps[0]
		if got := callAs[deploymentOut](s, "GET", path("deployments", d.ID), st.viewerA.tok, nil, 200); got != d ||
			d.Status != "succeeded" || d.Actor != "user:"+strconv.FormatInt(st.dev1.ID, 10) || !d.DeployedAt.Equal(st.base.Add(time.Hour)) {
			t.Errorf("deployment %+v", got)
		}
		if d := st.deps[8]; d.DeployedAt.IsZero() || d.DeployedAt.Before(st.base.Add(23*time.Hour)) {
			t.Errorf("deployed_at omitted: %v, want about now", d.DeployedAt)
		}
		tags := all[tagOut](s, path("tags"), st.viewerA.tok)
		var names []string
		for _, tg := range tags {
			names = append(names, tg.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"batch", "edge", "lang:go", "lang:java", "lang:ts", "pci"}) {
			t.Errorf("tags created from components: %v", names)
		}
		members := all[userOut](s, path("teams", st.teams["payments"].ID, "members"), st.viewerA.tok)
		if len(members) != 3 || members[0].ID != st.userA.ID || members[0].CompanyID != int64(a) || members[0].Email != st.userA.Email {
			t.Errorf("members %+v", members)
		}
	})

	t.Run("dependencies both ways", func(t *testing.T) {
		s := s.on(t)
		names := func(cs []componentOut) []string {
			var out []string
			for _, c := range cs {
				out = append(out, c.Name)
			}
			return out
		}
		deps := all[componentOut](s, path("components", st.comps["checkout_web"].ID, "dependencies"), st.viewerA.tok)
		if got := names(deps); !slices.Equal(got, []string{"payments-api", "search-api", "platform-gateway"}) {
			t.Errorf("checkout_web depends on %v", got)
		}
		dependents := all[componentOut](s, path("components", st.comps["payments-api"].ID, "dependents"), st.viewerA.tok)
		if got := names(dependents); !slices.Equal(got, []string{"payments-worker", "checkout_web", "platform-gateway"}) {
			t.Errorf("payments-api is depended on by %v", got)
		}
		api, db := st.comps["payments-api"].ID, st.comps["orders-db"].ID
		before := s.digest(a)
		s.expect(s.send("POST", path("components", api, "dependencies", db), st.userA.tok, nil), 409, "conflict")
		if r := s.expect(s.send("POST", path("components", api, "dependencies", api), st.userA.tok, nil), 422, "invalid"); r.field() != "other_id" {
			t.Errorf("self-loop: field %q", r.field())
		}
		s.expect(s.send("POST", path("components", api, "dependencies", 999999), st.userA.tok, nil), 404, "not_found")
		s.expect(s.send("DELETE", path("components", api, "dependencies", st.comps["search-api"].ID), st.userA.tok, nil), 404, "not_found")
		s.unchanged(before, a)
	})

	t.Run("versions newest first by precedence", func(t *testing.T) {
		s := s.on(t)
		api := st.comps["payments-api"].ID
		var got []string
		for _, v := range all[versionOut](s, path("components", api, "versions"), st.viewerA.tok) {
			got = append(got, v.Version)
		}
		if want := []string{"2.0.0", "2.0.0-rc.1", "2.0.0-alpha", "1.10.0", "1.2.0", "1.0.0+a"}; !slices.Equal(got, want) {
			t.Fatalf("versions %v, want %v", got, want)
		}
		// Paged one at a time, the order holds (the cursor resolves precedence).
		var paged []string
		for _, v := range items[versionOut](t, walk(s, path("components", api, "versions"), st.viewerA.tok, 1)) {
			paged = append(paged, v.Version)
		}
		if !slices.Equal(paged, got) {
			t.Fatalf("paged versions %v, want %v", paged, got)
		}
	})

	t.Run("the deployment ledger", func(t *testing.T) {
		s := s.on(t)
		vid := func(key string) int64 { return st.vers[key].ID }
		type cell struct {
			comp, env string
		}
		want := map[cell]string{
			{"payments-api", "development"}: "1.2.0",
			{"payments-api", "staging"}:     "2.0.0",
			{"payments-api", "production"}:  "2.0.0",
			{"search-api", "development"}:   "0.9.0",
			{"search-api", "production"}:    "1.0.0",
		}
		matrix := all[currentOut](s, path("deployments", "current"), st.viewerA.tok)
		if len(matrix) != len(want) {
			t.Fatalf("matrix %+v", matrix)
		}
		for i, c := range matrix {
			var key cell
			for name, comp := range st.comps {
				if comp.ID == c.ComponentID {
					key.comp = name
				}
			}
			for name, env := range st.envs {
				if env.ID == c.EnvironmentID {
					key.env = name
				}
			}
			if want[key] == "" || c.Version != want[key] || c.VersionID != vid(key.comp+"@"+want[key]) {
				t.Errorf("cell %+v (%v), want version %q", c, key, want[key])
			}
			if i > 0 && (c.ComponentID < matrix[i-1].ComponentID ||
				c.ComponentID == matrix[i-1].ComponentID && c.EnvironmentID <= matrix[i-1].EnvironmentID) {
				t.Errorf("matrix not ordered by component, environment: %+v", matrix)
			}
		}
		// The production cell is the 2.0.0 deployment at base+3h: neither the
		// late 1.2.0 (older) nor the failed rc (newer) moved it.
		prod := all[currentOut](s, withQuery(withQuery(path("deployments", "current"), "component_id",
			strconv.FormatInt(st.comps["payments-api"].ID, 10)), "environment_id", strconv.FormatInt(st.envs["production"].ID, 10)), st.viewerA.tok)
		if len(prod) != 1 || prod[0].DeploymentID != st.deps[2].ID || !prod[0].DeployedAt.Equal(st.base.Add(3*time.Hour)) {
			t.Fatalf("production cell %+v, want deployment %d", prod, st.deps[2].ID)
		}
		// Another late, older success changes nothing either.
		late := callAs[deploymentOut](s, "POST", path("deployments"), st.userA.tok, map[string]any{"component_id": st.comps["payments-api"].ID,
			"environment_id": st.envs["production"].ID, "version_id": vid("payments-api@1.10.0"),
			"deployed_at": st.base.Add(2*time.Hour + 59*time.Minute).Format(time.RFC3339Nano)}, 201)
		st.activity = append(st.activity, expectedActivity{"create", "deployment", late.ID, st.userA.ID})
		prod2 := all[currentOut](s, withQuery(path("deployments", "current"), "environment_id", strconv.FormatInt(st.envs["production"].ID, 10)), st.viewerA.tok)
		if len(prod2) != 2 || prod2[0].DeploymentID != st.deps[2].ID {
			t.Fatalf("after a late event: %+v", prod2)
		}

		// History: newest first by deployed_at, filterable.
		hist := all[deploymentOut](s, withQuery(path("deployments"), "component_id", strconv.FormatInt(st.comps["payments-api"].ID, 10)), st.viewerA.tok)
		if len(hist) != 9 {
			t.Fatalf("history of payments-api: %d events", len(hist))
		}
		for i := 1; i < len(hist); i++ {
			if hist[i].DeployedAt.After(hist[i-1].DeployedAt) ||
				hist[i].DeployedAt.Equal(hist[i-1].DeployedAt) && hist[i].ID > hist[i-1].ID {
				t.Fatalf("history not newest first: %+v then %+v", hist[i-1], hist[i])
			}
		}
		staging := all[deploymentOut](s, withQuery(withQuery(path("deployments"), "environment_id", strconv.FormatInt(st.envs["staging"].ID, 10)),
			"component_id", strconv.FormatInt(st.comps["payments-api"].ID, 10)), st.viewerA.tok)
		if len(staging) != 4 {
			t.Fatalf("staging history %+v", staging)
		}

		before := s.digest(a)
		api, search := st.comps["payments-api"].ID, st.comps["search-api"].ID
		bad := []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"component_id": api, "environment_id": st.envs["staging"].ID, "version_id": vid("search-api@1.0.0")}, "version_id"},
			{map[string]any{"component_id": search, "environment_id": st.envs["staging"].ID, "version_id": vid("payments-api@2.0.0")}, "version_id"},
			{map[string]any{"component_id": api, "environment_id": 999999, "version_id": vid("payments-api@2.0.0")}, "environment_id"},
			{map[string]any{"component_id": 999999, "environment_id": st.envs["staging"].ID, "version_id": vid("payments-api@2.0.0")}, "component_id"},
			{map[string]any{"component_id": api, "environment_id": st.envs["staging"].ID, "version_id": 999999}, "version_id"},
			{map[string]any{"environment_id": st.envs["staging"].ID, "version_id": vid("payments-api@2.0.0")}, "component_id"},
			{map[string]any{"component_id": api, "environment_id": st.envs["staging"].ID, "version_id": vid("payments-api@2.0.0"), "status": "exploded"}, "status"},
			{map[string]any{"component_id": api, "environment_id": st.envs["staging"].ID, "version_id": vid("payments-api@2.0.0"),
				"deployed_at": s.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, "deployed_at"},
			{map[string]any{"component_id": api, "environment_id": st.envs["staging"].ID, "version_id": vid("payments-api@2.0.0"), "deployed_at": "yesterday"}, "deployed_at"},
			{map[string]any{"component_id": api, "environment_id": st.envs["staging"].ID, "version_id": vid("payments-api@2.0.0"), "deployed_at": "0000-01-01T00:00:00Z"}, "deployed_at"},
		}
		for _, tc := range bad {
			if r := s.expect(s.send("POST", path("deployments"), st.userA.tok, tc.body), 422, "invalid"); r.field() != tc.field {
				t.Errorf("%v: field %q, want %q", tc.body, r.field(), tc.field)
			}
		}
		s.unchanged(before, a)
		// The database refuses to rewrite history, whatever the API does.
		if _, err := s.db.Exec(`UPDATE "` + a.Schema() + `".deployments SET status = 'failed'`); err == nil {
			t.Error("the ledger accepted an UPDATE")
		}
	})

	t.Run("component filters", func(t *testing.T) {
		s := s.on(t)
		filtered := func(query url.Values) []string {
			t.Helper()
			var out []string
			for _, c := range all[componentOut](s, path("components")+"?"+query.Encode(), st.viewerA.tok) {
				out = append(out, c.Name)
			}
			return out
		}
		id := func(n int64) string { return strconv.FormatInt(n, 10) }
		cases := []struct {
			query url.Values
			want  []string
		}{
			{url.Values{}, []string{"payments-api", "payments-worker", "checkout_web", "checkoutxweb-legacy", "search-api", "search.indexer", "platform-gateway", "orders-db"}},
			{url.Values{"team_id": {id(st.teams["payments"].ID)}}, []string{"payments-api", "payments-worker", "checkout_web"}},
			{url.Values{"team_id": {id(st.teams["empty"].ID)}}, nil},
			{url.Values{"team_id": {"999999"}}, nil},
			{url.Values{"service_type_id": {id(st.serviceTypes["Worker"])}}, []string{"payments-worker", "search.indexer"}},
			{url.Values{"lifecycle": {"production"}}, []string{"payments-api", "payments-worker", "search-api", "platform-gateway", "orders-db"}},
			{url.Values{"lifecycle": {"experimental"}}, []string{"checkout_web", "search.indexer"}},
			{url.Values{"lifecycle": {"deprecated"}}, []string{"checkoutxweb-legacy"}},
			{url.Values{"tag": {"pci"}}, []string{"payments-api", "payments-worker", "orders-db"}},
			{url.Values{"tag": {"lang:java"}}, []string{"search-api", "search.indexer"}},
			{url.Values{"tag": {"b-only"}}, nil}, // B's tag
			{url.Values{"q": {"search"}}, []string{"search-api", "search.indexer"}},
			{url.Values{"q": {"API"}}, []string{"payments-api", "search-api"}}, // case-insensitive
			{url.Values{"q": {"t_w"}}, []string{"checkout_web"}},               // _ is literal, not "any character"
			{url.Values{"q": {"%"}}, nil},                                      // % is literal, not "anything"
			{url.Values{"q": {"h.i"}}, []string{"search.indexer"}},
			{url.Values{"q": {"\\"}}, nil},
			{url.Values{"q": {"'; DROP TABLE components; --"}}, nil},
			{url.Values{"q": {""}}, []string{"payments-api", "payments-worker", "checkout_web", "checkoutxweb-legacy", "search-api", "search.indexer", "platform-gateway", "orders-db"}},
			{url.Values{"team_id": {id(st.teams["payments"].ID)}, "lifecycle": {"production"}, "tag": {"pci"}, "q": {"worker"},
				"service_type_id": {id(st.serviceTypes["Worker"])}}, []string{"payments-worker"}},
		}
		for _, tc := range cases {
			if got := filtered(tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.query.Encode(), got, tc.want)
			}
		}
		// Filters and paging together: a cursor continues the filtered list.
		var paged []string
		for _, c := range items[componentOut](t, walk(s, path("components")+"?tag=pci", st.viewerA.tok, 1)) {
			paged = append(paged, c.Name)
		}
		if !slices.Equal(paged, []string{"payments-api", "payments-worker", "orders-db"}) {
			t.Errorf("paged tag=pci: %v", paged)
		}
		badQueries := []struct{ query, field string }{
			{"team_id=abc", "team_id"}, {"team_id=0", "team_id"}, {"team_id=-1", "team_id"}, {"team_id=01", "team_id"},
			{"team_id=1&team_id=2", "team_id"}, {"team_id=99999999999999999999", "team_id"}, {"team_id=", "team_id"},
			{"service_type_id=x", "service_type_id"}, {"lifecycle=retired", "lifecycle"}, {"lifecycle=", "lifecycle"},
			{"lifecycle=Production", "lifecycle"}, {"tag=Not%20A%20Tag", "tag"}, {"tag=", "tag"},
			{"q=" + strings.Repeat("x", 64), "q"}, {"q=a%00b", "q"}, {"q=%ff", "q"}, {"teamid=1", "teamid"},
			{"limit=0", "limit"}, {"limit=x", "limit"}, {"cursor=abc", "cursor"},
		}
		for _, tc := range badQueries {
			if r := s.expect(s.send("GET", path("components")+"?"+tc.query, st.viewerA.tok, nil), 400, "bad_request"); r.field() != tc.field {
				t.Errorf("?%s: field %q, want %q", tc.query, r.field(), tc.field)
			}
		}
		for _, q := range []string{"component_id=x", "environment_id=0", "team_id=1"} {
			field, _, _ := strings.Cut(q, "=")
			for _, p := range []string{path("deployments"), path("deployments", "current")} {
				if r := s.expect(s.send("GET", p+"?"+q, st.viewerA.tok, nil), 400, "bad_request"); r.field() != field {
					t.Errorf("%s?%s: field %q", p, q, r.field())
				}
			}
		}
	})

	t.Run("pagination over every list", func(t *testing.T) {
		s := s.on(t)
		api, web := st.comps["payments-api"].ID, st.comps["checkout_web"].ID
		lists := []struct {
			path string
			tok  string
		}{
			{path("users"), st.adminA.tok},
			{path("teams"), st.viewerA.tok},
			{path("teams", st.teams["payments"].ID, "members"), st.viewerA.tok},
			{path("components"), st.viewerA.tok},
			{path("components") + "?lifecycle=production", st.viewerA.tok},
			{path("components", web, "dependencies"), st.viewerA.tok},
			{path("components", api, "dependents"), st.viewerA.tok},
			{path("components", api, "versions"), st.viewerA.tok},
			{path("tags"), st.viewerA.tok},
			{path("environments"), st.viewerA.tok},
			{path("deployments"), st.viewerA.tok},
			{path("deployments") + "?component_id=" + strconv.FormatInt(api, 10), st.viewerA.tok},
			{path("deployments", "current"), st.viewerA.tok},
			{path("activity"), st.adminA.tok},
			{path("cloud-providers"), st.viewerA.tok},
			{path("registry-providers"), st.viewerA.tok},
			{path("service-types"), st.viewerA.tok},
		}
		cursors := map[string]string{}
		for _, l := range lists {
			whole := walk(s, l.path, l.tok, 200)
			if len(whole) < 2 {
				t.Fatalf("%s: %d items; the story needs at least 2 per list", l.path, len(whole))
			}
			for _, limit := range []int{1, 2, 3} {
				paged := walk(s, l.path, l.tok, limit)
				if len(paged) != len(whole) {
					t.Errorf("%s by %d: %d items, want %d", l.path, limit, len(paged), len(whole))
					continue
				}
				for i := range paged {
					if string(paged[i]) != string(whole[i]) {
						t.Errorf("%s by %d: item %d is %s, want %s", l.path, limit, i, paged[i], whole[i])
						break
					}
				}
			}
			// limit is clamped, never an error when large.
			if got := decodeAs[rawPage](t, s.expect(s.send("GET", withQuery(l.path, "limit", "100000"), l.tok, nil), 200, "")); len(got.Items) != len(whole) {
				t.Errorf("%s?limit=100000: %d items", l.path, len(got.Items))
			}
			cursors[l.path] = cursorOf(s, l.path, l.tok)
		}

		// A cursor is valid only for the list (and tenant) that issued it.
		for _, l := range lists {
			own := cursors[l.path]
			s.expect(s.send("GET", withQuery(l.path, "cursor", own), l.tok, nil), 200, "")
			for _, other := range lists {
				if other.path == l.path || strings.Split(other.path, "?")[0] == strings.Split(l.path, "?")[0] {
					continue // a filtered view of the same list shares its cursors
				}
				if r := s.expect(s.send("GET", withQuery(l.path, "cursor", cursors[other.path]), l.tok, nil), 400, "bad_request"); r.field() != "cursor" {
					t.Errorf("%s with a cursor of %s: field %q", l.path, other.path, r.field())
				}
			}
			raw, err := base64.RawURLEncoding.DecodeString(own)
			if err != nil {
				t.Fatalf("cursor %q is not base64url: %v", own, err)
			}
			forged := make([][]byte, 0, 4)
			for _, i := range []int{0, 7, len(raw) - 1} {
				f := slices.Clone(raw)
				f[i] ^= 0x01
				forged = append(forged, f)
			}
			forged = append(forged, raw[:len(raw)-1], append(slices.Clone(raw), 0))
			for _, f := range forged {
				if r := s.expect(s.send("GET", withQuery(l.path, "cursor", base64.RawURLEncoding.EncodeToString(f)), l.tok, nil), 400, "bad_request"); r.field() != "cursor" {
					t.Errorf("%s with a forged cursor: field %q", l.path, r.field())
				}
			}
			for _, junk := range []string{"zzzz", "'; DROP TABLE teams; --", own + "=", strings.Repeat("A", 200), "MQ"} {
				s.expect(s.send("GET", withQuery(l.path, "cursor", junk), l.tok, nil), 400, "bad_request")
			}
			for _, q := range []string{"limit=0", "limit=-1", "limit=abc", "limit=1&limit=2", "cursor=a&cursor=b", "bogus=1"} {
				name, value, _ := strings.Cut(q, "&")
				k, v, _ := strings.Cut(name, "=")
				p := withQuery(l.path, k, v)
				if value != "" {
					k, v, _ = strings.Cut(value, "=")
					p = withQuery(p, k, v)
				}
				s.expect(s.send("GET", p, l.tok, nil), 400, "bad_request")
			}
		}
		// A cursor of the members of one team is not one of another team.
		s.expect(s.send("GET", withQuery(path("teams", st.teams["platform"].ID, "members"), "cursor",
			cursors[path("teams", st.teams["payments"].ID, "members")]), st.viewerA.tok, nil), 400, "bad_request")
		// A's cursor is refused in B, on the same list.
		s.expect(s.send("GET", withQuery(path("teams"), "cursor", cursors[path("teams")]), st.viewerB.tok, nil), 400, "bad_request")
		s.expect(s.send("GET", withQuery(path("service-types"), "cursor", cursors[path("service-types")]), st.viewerB.tok, nil), 400, "bad_request")
	})

	t.Run("isolation", func(t *testing.T) {
		s := s.on(t)
		// The A ids used below do not exist in B at all, so B's answers are
		// those of absent ids, whatever B owns.
		absentInB := func(table string, id int64) {
			t.Helper()
			if n := s.count(`SELECT count(*) FROM "`+b.Schema()+`".`+table+` WHERE id = ?`, id); n != 0 {
				t.Fatalf("precondition: %s %d exists in B", table, id)
			}
		}
		teamA, compA, envA := st.teams["search"].ID, st.comps["search-api"].ID, st.envs["staging"].ID
		verA, depA, userIDA := st.vers["search-api@1.0.0"].ID, st.deps[len(st.deps)-1].ID, st.dev2.ID
		absentInB("teams", teamA)
		absentInB("components", compA)
		absentInB("environments", envA)
		absentInB("versions", verA)
		absentInB("deployments", depA)
		absentInB("users", userIDA)
		tagA := all[tagOut](s, path("tags"), st.viewerA.tok)
		tagAID := tagA[len(tagA)-1].ID
		absentInB("tags", tagAID)

		before := s.digest(a, b)
		for _, tok := range []string{st.adminB.tok, st.userB.tok, st.viewerB.tok} {
			for _, p := range []string{path("teams", teamA), path("teams", teamA, "members"), path("components", compA),
				path("components", compA, "dependencies"), path("components", compA, "dependents"), path("components", compA, "versions"),
				path("components", compA, "versions", verA), path("components", st.compB.ID, "versions", verA), path("environments", envA),
				path("tags", tagAID), path("deployments", depA)} {
				s.expect(s.send("GET", p, tok, nil), 404, "not_found")
			}
		}
		// Only an admin reads other users; to B's admin, A's user is absent.
		s.expect(s.send("GET", path("users", userIDA), st.adminB.tok, nil), 404, "not_found")
		tok := st.adminB.tok
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"PATCH", path("teams", teamA), `{"name":"stolen"}`},
			{"DELETE", path("teams", teamA), nil},
			{"POST", path("teams", teamA, "members"), map[string]int64{"user_id": st.userB.ID}},
			{"DELETE", path("teams", teamA, "members", userIDA), nil},
			{"PATCH", path("components", compA), `{"description":"stolen"}`},
			{"DELETE", path("components", compA), nil},
			{"POST", path("components", compA, "dependencies", st.compB.ID), nil},
			{"POST", path("components", st.compB.ID, "dependencies", compA), nil},
			{"DELETE", path("components", compA, "dependencies", st.comps["payments-api"].ID), nil},
			{"POST", path("components", compA, "versions"), `{"version":"6.6.6"}`},
			{"PATCH", path("components", compA, "versions", verA), `{"notes":"stolen"}`},
			{"PATCH", path("components", st.compB.ID, "versions", verA), `{"notes":"stolen"}`},
			{"DELETE", path("components", compA, "versions", verA), nil},
			{"PATCH", path("environments", envA), `{"region":"us-east-1"}`},
			{"DELETE", path("environments", envA), nil},
			{"PATCH", path("tags", tagAID), `{"name":"stolen"}`},
			{"DELETE", path("tags", tagAID), nil},
			{"PATCH", path("users", userIDA), `{"name":"stolen"}`},
			{"DELETE", path("users", userIDA), nil},
		} {
			s.expect(s.send(req.method, req.path, tok, req.body), 404, "not_found")
		}
		// A's ids in B's bodies: 422 naming the field.
		for _, req := range []struct {
			method, path string
			body         any
			field        string
		}{
			{"POST", path("teams", st.teamB.ID, "members"), map[string]int64{"user_id": userIDA}, "user_id"},
			{"POST", path("components"), map[string]any{"name": "stolen", "service_type_id": 1, "team_id": teamA}, "team_id"},
			{"PATCH", path("components", st.compB.ID), map[string]any{"team_id": teamA}, "team_id"},
			{"POST", path("deployments"), map[string]any{"component_id": compA, "environment_id": st.envB.ID, "version_id": st.versionB.ID}, "component_id"},
			{"POST", path("deployments"), map[string]any{"component_id": st.compB.ID, "environment_id": envA, "version_id": st.versionB.ID}, "environment_id"},
			{"POST", path("deployments"), map[string]any{"component_id": st.compB.ID, "environment_id": st.envB.ID, "version_id": verA}, "version_id"},
		} {
			if r := s.expect(s.send(req.method, req.path, tok, req.body), 422, "invalid"); r.field() != req.field {
				t.Errorf("%s %s %v: field %q, want %q", req.method, req.path, req.body, r.field(), req.field)
			}
		}
		s.unchanged(before, a, b)

		// B's lists show B's catalog only, and A's filters match nothing in B.
		if cs := all[componentOut](s, path("components"), st.viewerB.tok); len(cs) != 1 || cs[0].ID != st.compB.ID {
			t.Errorf("B lists components %+v", cs)
		}
		if cs := all[componentOut](s, path("components")+"?team_id="+strconv.FormatInt(teamA, 10), st.viewerB.tok); len(cs) != 0 {
			t.Errorf("B filtered by A's team: %+v", cs)
		}
		if ds := all[deploymentOut](s, path("deployments"), st.viewerB.tok); len(ds) != 1 || ds[0].ID != st.deploymenB.ID {
			t.Errorf("B lists deployments %+v", ds)
		}
		if cs := all[currentOut](s, path("deployments", "current"), st.viewerB.tok); len(cs) != 1 || cs[0].Version != "9.9.9" {
			t.Errorf("B's matrix %+v", cs)
		}
		if us := all[userOut](s, path("users"), st.adminB.tok); len(us) != 3 {
			t.Errorf("B lists %d users", len(us))
		}
		bUsers := map[int64]bool{st.adminB.ID: true, st.userB.ID: true, st.viewerB.ID: true}
		for _, it := range all[activityOut](s, path("activity"), st.adminB.tok) {
			registration := it.Actor == "platform-admin" && it.EntityType == "user" && bUsers[it.EntityID]
			if it.ActorID != st.userB.ID && it.ActorID != st.adminB.ID && !registration {
				t.Errorf("B's activity shows %+v", it)
			}
		}
		// The same id means B's own row to B: A's team 1 is not B's team 1.
		if got := callAs[teamOut](s, "GET", path("teams", st.teamB.ID), st.viewerB.tok, nil, 200); got != st.teamB {
			t.Errorf("B's team %+v", got)
		}
	})

	t.Run("roles", func(t *testing.T) {
		s := s.on(t)
		api, v := st.comps["payments-api"].ID, st.vers["payments-api@1.0.0+a"].ID
		team, env := st.teams["empty"].ID, st.envs["development"].ID
		tagID := all[tagOut](s, path("tags"), st.viewerA.tok)[0].ID
		writes := []struct {
			method, path string
			body         any
		}{
			{"POST", path("teams"), `{"name":"Viewers"}`},
			{"PATCH", path("teams", team), `{"description":"x"}`},
			{"DELETE", path("teams", team), nil},
			{"POST", path("teams", team, "members"), map[string]int64{"user_id": st.viewerA.ID}},
			{"DELETE", path("teams", st.teams["payments"].ID, "members", st.dev1.ID), nil},
			{"POST", path("components"), map[string]any{"name": "viewer-svc", "service_type_id": 1, "team_id": team}},
			{"PATCH", path("components", api), `{"tier":3}`},
			{"DELETE", path("components", st.comps["orders-db"].ID), nil},
			{"POST", path("components", st.comps["orders-db"].ID, "dependencies", api), nil},
			{"DELETE", path("components", api, "dependencies", st.comps["orders-db"].ID), nil},
			{"POST", path("components", api, "versions"), `{"version":"3.0.0"}`},
			{"PATCH", path("components", api, "versions", v), `{"notes":"x"}`},
			{"DELETE", path("components", api, "versions", v), nil},
			{"POST", path("tags"), `{"name":"viewer"}`},
			{"PATCH", path("tags", tagID), `{"name":"viewer"}`},
			{"DELETE", path("tags", tagID), nil},
			{"POST", path("environments"), map[string]any{"name": "qa", "category": "testing", "cloud_provider_id": 1}},
			{"PATCH", path("environments", env), `{"region":"us-east-1"}`},
			{"DELETE", path("environments", env), nil},
			{"POST", path("deployments"), map[string]any{"component_id": api, "environment_id": env, "version_id": v}},
			{"PATCH", path("users", st.dev1.ID), `{"name":"x"}`},
			{"DELETE", path("users", st.dev1.ID), nil},
			{"POST", path("service-types"), `{"name":"Lambda"}`},
			{"POST", path("invitations"), `{"email":"new@acme.example","role":"viewer"}`},
		}
		before := s.digest(a)
		for _, w := range writes {
			s.expect(s.send(w.method, w.path, st.viewerA.tok, w.body), 403, "forbidden")
			s.expect(s.send(w.method, w.path, testAdminToken, w.body), 403, "forbidden") // the platform admin has no tenant
			s.expect(s.send(w.method, w.path, "", w.body), 401, "unauthenticated")
		}
		// A user writes the catalog, but not users, reference data or activity.
		for _, w := range []struct {
			method, path string
			body         any
		}{
			{"GET", path("users"), nil},
			{"GET", path("users", st.dev1.ID), nil},
			{"PATCH", path("users", st.dev1.ID), `{"name":"x"}`},
			{"PATCH", path("users", st.userA.ID), `{"role":"admin"}`},
			{"DELETE", path("users", st.dev1.ID), nil},
			{"DELETE", path("users", st.userA.ID), nil},
			{"GET", path("activity"), nil},
			{"POST", path("service-types"), `{"name":"Lambda"}`},
			{"PATCH", path("cloud-providers", 1), `{"name":"Amazon"}`},
			{"DELETE", path("registry-providers", st.registryProviders["JFrog"]), nil},
			{"POST", path("invitations"), `{"email":"new@acme.example","role":"viewer"}`},
		} {
			s.expect(s.send(w.method, w.path, st.userA.tok, w.body), 403, "forbidden")
		}
		for _, p := range []string{path("users"), path("activity"), path("users", st.dev1.ID)} {
			s.expect(s.send("GET", p, st.viewerA.tok, nil), 403, "forbidden")
			s.expect(s.send("GET", p, testAdminToken, nil), 403, "forbidden")
		}
		s.unchanged(before, a)
		// Everyone reads the catalog and themselves.
		for _, tok := range []string{st.viewerA.tok, st.userA.tok, st.adminA.tok} {
			for _, p := range []string{path("teams"), path("components", api), path("deployments", "current"), path("environments"), path("tags")} {
				s.expect(s.send("GET", p, tok, nil), 200, "")
			}
		}
		me := callAs[userOut](s, "GET", path("users", st.viewerA.ID), st.viewerA.tok, nil, 200)
		if me.Email != st.viewerA.Email || me.CompanyID != int64(a) || me.Role != "viewer" {
			t.Errorf("self %+v", me)
		}
	})

	t.Run("never a 500, never a change", st.sweep)

	t.Run("conflicts", func(t *testing.T) {
		s := s.on(t)
		before := s.digest(a)
		api := st.comps["payments-api"].ID
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"POST", path("teams"), `{"name":"PAYMENTS"}`},
			{"POST", path("teams"), `{"name":"  payments "}`},
			{"PATCH", path("teams", st.teams["empty"].ID), `{"name":"Search"}`},
			{"POST", path("components"), map[string]any{"name": "payments-api", "service_type_id": 1, "team_id": st.teams["empty"].ID}},
			{"PATCH", path("components", st.comps["orders-db"].ID), `{"name":"search-api"}`},
			{"POST", path("components", api, "versions"), `{"version":"1.0.0+b"}`},
			{"POST", path("components", api, "versions"), `{"version":"1.0.0"}`},
			{"POST", path("components", api, "versions"), `{"version":"2.0.0-rc.1+build.7"}`},
			{"POST", path("environments"), map[string]any{"name": "Production", "category": "production", "cloud_provider_id": 1}},
			{"PATCH", path("environments", st.envs["staging"].ID), `{"name":"DEVELOPMENT"}`},
			{"POST", path("tags"), `{"name":"pci"}`},
		} {
			s.expect(s.send(req.method, req.path, st.userA.tok, req.body), 409, "conflict")
		}
		s.unchanged(before, a)
		// The same version in another component, and the same names in B, are fine.
		v := callAs[versionOut](s, "POST", path("components", st.comps["orders-db"].ID, "versions"), st.userA.tok, `{"version":"1.0.0+b"}`, 201)
		st.activity = append(st.activity, expectedActivity{"create", "version", v.ID, st.userA.ID})
		s.expect(s.send("POST", path("teams"), st.userB.tok, `{"name":"Search"}`), 201, "")
	})

	t.Run("patch: absent, null, value", func(t *testing.T) {
		s := s.on(t)
		c := st.comps["payments-api"]
		p := path("components", c.ID)
		got := callAs[componentOut](s, "PATCH", p, st.userA.tok, `{"description":"Takes payments"}`, 200)
		if got.Description != "Takes payments" || got.Tier == nil || *got.Tier != 1 || got.RegistryProviderID == nil ||
			!slices.Equal(got.Tags, c.Tags) || got.ImageRepository != c.ImageRepository || got.UpdatedAt.Before(c.UpdatedAt) {
			t.Fatalf("absent fields changed: %+v", got)
		}
		got = callAs[componentOut](s, "PATCH", p, st.userA.tok, `{"tier":null}`, 200)
		if got.Tier != nil || got.RegistryProviderID == nil {
			t.Fatalf("tier null: %+v", got)
		}
		got = callAs[componentOut](s, "PATCH", p, st.userA.tok, `{"tier":3,"tags":["pci","new-tag","pci"]}`, 200)
		if got.Tier == nil || *got.Tier != 3 || !slices.Equal(got.Tags, []string{"new-tag", "pci"}) {
			t.Fatalf("tier 3: %+v", got)
		}
		// A registry provider is needed while there is an image repository.
		if r := s.expect(s.send("PATCH", p, st.userA.tok, `{"registry_provider_id":null}`), 422, "invalid"); r.field() != "registry_provider_id" {
			t.Errorf("field %q", r.field())
		}
		got = callAs[componentOut](s, "PATCH", p, st.userA.tok, `{"registry_provider_id":null,"image_repository":null,"tags":null}`, 200)
		if got.RegistryProviderID != nil || got.ImageRepository != "" || len(got.Tags) != 0 || got.Tags == nil || got.Tier == nil {
			t.Fatalf("cleared: %+v", got)
		}
		got = callAs[componentOut](s, "PATCH", p, st.userA.tok, map[string]any{"registry_provider_id": st.registryProviders["Harbor"],
			"image_repository": "harbor.acme.example/pay/api", "tags": c.Tags, "tier": 1, "description": c.Description}, 200)
		if got.RegistryProviderID == nil || *got.RegistryProviderID != st.registryProviders["Harbor"] || !slices.Equal(got.Tags, c.Tags) {
			t.Fatalf("restored: %+v", got)
		}
		for _, tc := range []struct{ body, field string }{
			{`{"name":null}`, "name"}, {`{"lifecycle":null}`, "lifecycle"}, {`{"team_id":null}`, "team_id"},
			{`{"service_type_id":null}`, "service_type_id"}, {`{"lifecycle":"retired"}`, "lifecycle"}, {`{"tier":5}`, "tier"},
			{`{"tier":0}`, "tier"}, {`{"name":"Payments API"}`, "name"}, {`{"repository_url":"ftp://x.example/r"}`, "repository_url"},
			{`{"team_id":999999}`, "team_id"}, {`{"service_type_id":999999}`, "service_type_id"},
			{`{"registry_provider_id":999999}`, "registry_provider_id"}, {`{"tags":["Not Valid"]}`, "tags"},
		} {
			before := s.digest(a)
			if r := s.expect(s.send("PATCH", p, st.userA.tok, tc.body), 422, "invalid"); r.field() != tc.field {
				t.Errorf("%s: field %q, want %q", tc.body, r.field(), tc.field)
			}
			s.unchanged(before, a)
		}
		// Teams and environments: null clears a text, never a required field.
		tm := callAs[teamOut](s, "PATCH", path("teams", st.teams["empty"].ID), st.userA.tok, `{"description":null}`, 200)
		if tm.Description != "" || tm.Name != "Empty" {
			t.Fatalf("team %+v", tm)
		}
		s.expect(s.send("PATCH", path("teams", st.teams["empty"].ID), st.userA.tok, `{"name":null}`), 422, "invalid")
		env := callAs[environmentOut](s, "PATCH", path("environments", st.envs["development"].ID), st.userA.tok, `{"region":null}`, 200)
		if env.Region != "" || env.Name != "development" || env.CloudProviderID != st.cloudProviders["AWS"] {
			t.Fatalf("environment %+v", env)
		}
		for _, f := range []string{"name", "category", "cloud_provider_id"} {
			if r := s.expect(s.send("PATCH", path("environments", st.envs["development"].ID), st.userA.tok, `{"`+f+`":null}`), 422, "invalid"); r.field() != f {
				t.Errorf("environment %s null: field %q", f, r.field())
			}
		}
		// Versions change only their notes.
		v := st.vers["payments-api@1.2.0"]
		got2 := callAs[versionOut](s, "PATCH", path("components", c.ID, "versions", v.ID), st.userA.tok, `{"notes":"hotfix"}`, 200)
		if got2.Notes != "hotfix" || got2.Version != v.Version || got2.GitSHA != v.GitSHA {
			t.Fatalf("version %+v", got2)
		}
		s.expect(s.send("PATCH", path("components", c.ID, "versions", v.ID), st.userA.tok, `{"version":"9.0.0"}`), 400, "bad_request")
		s.expect(s.send("PATCH", path("components", c.ID, "versions", v.ID), st.userA.tok, `{}`), 422, "invalid")
		got2 = callAs[versionOut](s, "PATCH", path("components", c.ID, "versions", v.ID), st.userA.tok, `{"notes":null}`, 200)
		if got2.Notes != "" {
			t.Fatalf("notes null: %+v", got2)
		}
		if _, err := s.db.Exec(`UPDATE "`+a.Schema()+`".versions SET version = '9.9.9' WHERE id = ?`, v.ID); err == nil {
			t.Error("the database let a version change")
		}
		// A tag rename shows on the components that carry it.
		tags := all[tagOut](s, path("tags"), st.viewerA.tok)
		var edge tagOut
		for _, tg := range tags {
			if tg.Name == "edge" {
				edge = tg
			}
		}
		if got := callAs[tagOut](s, "PATCH", path("tags", edge.ID), st.userA.tok, `{"name":"edge-proxy"}`, 200); got.Name != "edge-proxy" {
			t.Fatalf("tag %+v", got)
		}
		if gw := callAs[componentOut](s, "GET", path("components", st.comps["platform-gateway"].ID), st.viewerA.tok, nil, 200); !slices.Equal(gw.Tags, []string{"edge-proxy"}) {
			t.Errorf("gateway tags %v", gw.Tags)
		}
		for _, body := range []string{`{}`, `{"name":null}`, `{"name":"Edge Proxy"}`} {
			if r := s.expect(s.send("PATCH", path("tags", edge.ID), st.userA.tok, body), 422, "invalid"); r.field() != "name" {
				t.Errorf("tag %s: field %q", body, r.field())
			}
		}
	})

	t.Run("delete refusals", func(t *testing.T) {
		s := s.on(t)
		api := st.comps["payments-api"].ID
		before := s.digest(a)
		for _, req := range []struct {
			tok, path string
		}{
			{st.userA.tok, path("teams", st.teams["payments"].ID)},                                // owns components
			{st.userA.tok, path("components", api)},                                               // has deployments
			{st.userA.tok, path("components", api, "versions", st.vers["payments-api@2.0.0"].ID)}, // deployed
			{st.userA.tok, path("environments", st.envs["production"].ID)},                        // has deployments
			{st.adminA.tok, path("service-types", st.serviceTypes["API"])},                        // used by components
			{st.adminA.tok, path("cloud-providers", st.cloudProviders["GCP"])},                    // used by an environment
			{st.adminA.tok, path("registry-providers", st.registryProviders["Harbor"])},           // used by payments-api
		} {
			s.expect(s.send("DELETE", req.path, req.tok, nil), 409, "conflict")
		}
		s.unchanged(before, a)

		// What is not in use goes, and takes its links along.
		web := st.comps["checkout_web"].ID
		s.expect(s.send("DELETE", path("components", web), st.userA.tok, nil), 204, "")
		st.activity = append(st.activity, expectedActivity{"delete", "component", web, st.userA.ID})
		s.expect(s.send("GET", path("components", web), st.viewerA.tok, nil), 404, "not_found")
		if n := s.count(`SELECT count(*) FROM "`+a.Schema()+`".component_dependencies WHERE component_id = ? OR depends_on_id = ?`, web, web); n != 0 {
			t.Errorf("%d dependency rows left", n)
		}
		if ds := all[componentOut](s, path("components", api, "dependents"), st.viewerA.tok); len(ds) != 2 {
			t.Errorf("dependents after delete: %+v", ds)
		}
		s.expect(s.send("DELETE", path("teams", st.teams["empty"].ID), st.userA.tok, nil), 204, "")
		st.activity = append(st.activity, expectedActivity{"delete", "team", st.teams["empty"].ID, st.userA.ID})
		v := st.vers["payments-api@2.0.0-alpha"] // in progress only: referenced by a deployment
		s.expect(s.send("DELETE", path("components", api, "versions", v.ID), st.userA.tok, nil), 409, "conflict")
		v = st.vers["payments-api@1.0.0+a"]
		s.expect(s.send("DELETE", path("components", api, "versions", v.ID), st.userA.tok, nil), 204, "")
		st.activity = append(st.activity, expectedActivity{"delete", "version", v.ID, st.userA.ID})
		s.expect(s.send("DELETE", path("components", api, "versions", v.ID), st.userA.tok, nil), 404, "not_found")
		// A version is addressed through its own component only.
		s.expect(s.send("GET", path("components", st.comps["search-api"].ID, "versions", st.vers["payments-api@2.0.0"].ID), st.viewerA.tok, nil), 404, "not_found")
		s.expect(s.send("DELETE", path("components", st.comps["search-api"].ID, "versions", st.vers["payments-api@1.2.0"].ID), st.userA.tok, nil), 404, "not_found")
		// A member leaves; leaving twice is a 404.
		s.expect(s.send("DELETE", path("teams", st.teams["platform"].ID, "members", st.dev2.ID), st.userA.tok, nil), 204, "")
		st.activity = append(st.activity, expectedActivity{"remove_member", "team", st.teams["platform"].ID, st.userA.ID})
		s.expect(s.send("DELETE", path("teams", st.teams["platform"].ID, "members", st.dev2.ID), st.userA.tok, nil), 404, "not_found")
		// A tag goes from every component.
		var langJava tagOut
		for _, tg := range all[tagOut](s, path("tags"), st.viewerA.tok) {
			if tg.Name == "lang:java" {
				langJava = tg
			}
		}
		s.expect(s.send("DELETE", path("tags", langJava.ID), st.userA.tok, nil), 204, "")
		st.activity = append(st.activity, expectedActivity{"delete", "tag", langJava.ID, st.userA.ID})
		if got := callAs[componentOut](s, "GET", path("components", st.comps["search-api"].ID), st.viewerA.tok, nil, 200); len(got.Tags) != 0 {
			t.Errorf("search-api tags after the tag's delete: %v", got.Tags)
		}
		// Reference data that nothing uses can go.
		s.expect(s.send("DELETE", path("registry-providers", st.registryProviders["JFrog"]), st.adminA.tok, nil), 204, "")
	})

	t.Run("users: self service, last admin, delete", func(t *testing.T) {
		s := s.on(t)
		// A user renames itself, not others, and cannot promote itself.
		me := callAs[userOut](s, "PATCH", path("users", st.dev1.ID), st.dev1.tok, `{"name":"Dev One"}`, 200)
		if me.Name != "Dev One" || me.Role != "user" || me.CompanyID != int64(a) {
			t.Fatalf("renamed %+v", me)
		}
		s.expect(s.send("PATCH", path("users", st.dev1.ID), st.dev1.tok, `{"role":"admin"}`), 403, "forbidden")
		for _, body := range []string{`{"name":null}`, `{"role":null}`, `{"role":"owner"}`, `{"name":""}`} {
			s.expect(s.send("PATCH", path("users", st.dev1.ID), st.adminA.tok, body), 422, "invalid")
		}

		// The only admin can be neither demoted nor deleted.
		before := s.digest(a)
		s.expect(s.send("PATCH", path("users", st.adminA.ID), st.adminA.tok, `{"role":"user"}`), 409, "conflict")
		s.expect(s.send("DELETE", path("users", st.adminA.ID), st.adminA.tok, nil), 409, "conflict")
		s.unchanged(before, a)
		// With a second admin, the first can step down; the second is then the last.
		second := callAs[userOut](s, "PATCH", path("users", st.dev2.ID), st.adminA.tok, `{"role":"admin"}`, 200)
		if second.Role != "admin" {
			t.Fatalf("promoted %+v", second)
		}
		// The role change takes effect at once, with the same token.
		s.expect(s.send("GET", path("users"), st.dev2.tok, nil), 200, "")
		s.expect(s.send("PATCH", path("users", st.adminA.ID), st.dev2.tok, `{"role":"user"}`), 200, "")
		s.expect(s.send("GET", path("users"), st.adminA.tok, nil), 403, "forbidden")
		s.expect(s.send("DELETE", path("users", st.dev2.ID), st.dev2.tok, nil), 409, "conflict")
		s.expect(s.send("PATCH", path("users", st.adminA.ID), st.dev2.tok, `{"role":"admin"}`), 200, "")
		st.activity = append(st.activity,
			expectedActivity{"update", "user", st.dev2.ID, st.adminA.ID},
			expectedActivity{"update", "user", st.adminA.ID, st.dev2.ID},
			expectedActivity{"update", "user", st.adminA.ID, st.dev2.ID})

		// Password: the current one is required.
		pw := "a much better passphrase"
		if r := s.expect(s.send("PUT", path("auth", "password"), st.viewerA.tok, map[string]string{"current_password": "wrong", "new_password": pw}), 422, "invalid"); r.field() != "current_password" {
			t.Errorf("field %q", r.field())
		}
		if r := s.expect(s.send("PUT", path("auth", "password"), st.viewerA.tok, map[string]string{"current_password": e2ePassword, "new_password": "short"}), 422, "invalid"); r.field() != "new_password" {
			t.Errorf("field %q", r.field())
		}
		s.expect(s.send("PUT", path("auth", "password"), st.viewerA.tok, map[string]string{"current_password": e2ePassword, "new_password": pw}), 204, "")
		st.activity = append(st.activity, expectedActivity{"change_password", "user", st.viewerA.ID, st.viewerA.ID})
		s.login(st.viewerA.Email, pw)
		s.expect(s.send("POST", "/api/v1/auth/login", "", url.Values{"username": {st.viewerA.Email}, "password": {e2ePassword}}), 401, "unauthenticated")
		s.expect(s.send("PUT", path("auth", "password"), "", map[string]string{"current_password": pw, "new_password": pw + "!"}), 401, "unauthenticated")
		s.expect(s.send("PUT", path("auth", "password"), testAdminToken, map[string]string{"current_password": pw, "new_password": pw + "!"}), 403, "forbidden")

		// Deleting a user frees its email and ends its token at once.
		gone := st.person(a, "leaver@acme.example", "user")
		s.expect(s.send("POST", path("teams", st.teams["payments"].ID, "members"), st.userA.tok, map[string]int64{"user_id": gone.ID}), 201, "")
		s.expect(s.send("DELETE", path("users", gone.ID), st.adminA.tok, nil), 204, "")
		st.activity = append(st.activity,
			expectedActivity{"add_member", "team", st.teams["payments"].ID, st.userA.ID},
			expectedActivity{"delete", "user", gone.ID, st.adminA.ID})
		if users, lookups := s.usersWithEmail(gone.Email); users != 0 || lookups != 0 {
			t.Fatalf("after delete: %d users, %d lookup rows", users, lookups)
		}
		if n := s.count(`SELECT count(*) FROM "`+a.Schema()+`".team_members WHERE user_id = ?`, gone.ID); n != 0 {
			t.Errorf("%d memberships left", n)
		}
		s.expect(s.send("GET", path("auth", "me"), gone.tok, nil), 401, "unauthenticated")
		s.expect(s.send("GET", path("users", gone.ID), st.adminA.tok, nil), 404, "not_found")
		s.expect(s.send("DELETE", path("users", gone.ID), st.adminA.tok, nil), 404, "not_found")
		// The email registers again, even in another company.
		again := st.person(b, gone.Email, "viewer")
		if again.CompanyID != int64(b) {
			t.Fatalf("re-registered %+v", again)
		}
	})

	t.Run("activity", func(t *testing.T) {
		s := s.on(t)
		got := all[activityOut](s, path("activity"), st.adminA.tok)
		for i := 1; i < len(got); i++ {
			if got[i].ID >= got[i-1].ID {
				t.Fatalf("activity not newest first: %d then %d", got[i-1].ID, got[i].ID)
			}
		}
		users := map[int64]bool{st.adminA.ID: true, st.userA.ID: true, st.viewerA.ID: true, st.dev1.ID: true, st.dev2.ID: true}
		for _, it := range got {
			if it.Actor == "platform-admin" && it.ActorID == 0 && it.Action == "create" && it.EntityType == "user" {
				continue // registrations by the platform admin (the story's set-up)
			}
			if !users[it.ActorID] || it.Actor != "user:"+strconv.FormatInt(it.ActorID, 10) || it.At.IsZero() || it.Detail == nil {
				t.Errorf("activity entry %+v", it)
			}
		}
		// Every write the story made is there, in order, with its actor.
		var seen []expectedActivity
		for _, it := range slices.Backward(got) {
			seen = append(seen, expectedActivity{it.Action, it.EntityType, it.EntityID, it.ActorID})
		}
		i := 0
		for _, e := range seen {
			if i < len(st.activity) && e == st.activity[i] {
				i++
			}
		}
		if i != len(st.activity) {
			t.Fatalf("activity lacks %+v (found %d of %d in order)\nactivity: %+v", st.activity[i], i, len(st.activity), seen)
		}
		for _, it := range got {
			if it.EntityType == "component" && it.Action == "create" && it.EntityID == st.comps["payments-api"].ID {
				if it.Detail["name"] != "payments-api" {
					t.Errorf("detail %+v", it.Detail)
				}
			}
		}
	})
}

// sameComponent compares components (tags and pointers by value).
func sameComponent(x, y componentOut) bool {
	eqInt := func(a, b *int) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	eqID := func(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	return x.ID == y.ID && x.Name == y.Name && x.Description == y.Description && x.ServiceTypeID == y.ServiceTypeID &&
		x.TeamID == y.TeamID && x.Lifecycle == y.Lifecycle && eqInt(x.Tier, y.Tier) && x.RepositoryURL == y.RepositoryURL &&
		eqID(x.RegistryProviderID, y.RegistryProviderID) && x.ImageRepository == y.ImageRepository &&
		slices.Equal(x.Tags, y.Tags) && x.CreatedAt.Equal(y.CreatedAt) && x.UpdatedAt.Equal(y.UpdatedAt)
}
