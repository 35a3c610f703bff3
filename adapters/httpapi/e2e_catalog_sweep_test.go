package httpapi_test

import (
	"strconv"
	"strings"
	"testing"
)

// The "never a 500" sweep: every write endpoint gets malformed JSON, bodies
// that are not objects, unknown and repeated fields, every field with a value
// of the wrong type, oversized bodies, wrong media types and malformed ids;
// every list gets malformed query parameters. Each answer must be a 4xx
// problem+json (400 naming the field where there is one) and, at the end,
// no row of either tenant may have changed.

// Kinds of JSON body fields, for the wrong-type bodies.
const (
	kindString  = "string"
	kindInt     = "int"
	kindStrings = "strings"
)

// writeEndpoint is a write endpoint and the fields of its body (nil: it takes
// no body).
type writeEndpoint struct {
	method, path string
	fields       map[string]string
}

// wrongValues are JSON values of a type other than kind, the first ones of
// each kind.
func wrongValues(kind string) []string {
	switch kind {
	case kindString:
		return []string{`5`, `true`, `{}`, `["x"]`, `1.5`}
	case kindInt:
		return []string{`"5"`, `1.5`, `1e30`, `-99999999999999999999`, `true`, `{}`, `[1]`}
	default:
		return []string{`"x"`, `5`, `{}`, `[1]`, `[["x"]]`, `[{}]`}
	}
}

// withBadID returns path with its idx-th numeric segment (0-based among the
// numeric segments) replaced by bad.
func withBadID(path string, idx int, bad string) (string, bool) {
	parts := strings.Split(path, "/")
	n := 0
	for i, p := range parts {
		if _, err := strconv.ParseInt(p, 10, 64); err == nil {
			if n == idx {
				parts[i] = bad
				return strings.Join(parts, "/"), true
			}
			n++
		}
	}
	return "", false
}

func (st *story) sweep(t *testing.T) {
	s := st.s.on(t)
	api, web, db := st.comps["payments-api"].ID, st.comps["checkout_web"].ID, st.comps["orders-db"].ID
	v := st.vers["payments-api@1.0.0+a"].ID
	team, env := st.teams["search"].ID, st.envs["development"].ID
	tagID := all[tagOut](s, path("tags"), st.viewerA.tok)[0].ID
	component := map[string]string{"name": kindString, "description": kindString, "service_type_id": kindInt, "team_id": kindInt,
		"lifecycle": kindString, "tier": kindInt, "repository_url": kindString, "registry_provider_id": kindInt,
		"image_repository": kindString, "tags": kindStrings}
	environment := map[string]string{"name": kindString, "category": kindString, "cloud_provider_id": kindInt, "region": kindString}
	endpoints := []writeEndpoint{
		{"POST", path("teams"), map[string]string{"name": kindString, "description": kindString}},
		{"PATCH", path("teams", team), map[string]string{"name": kindString, "description": kindString}},
		{"DELETE", path("teams", team), nil},
		{"POST", path("teams", team, "members"), map[string]string{"user_id": kindInt}},
		{"DELETE", path("teams", st.teams["payments"].ID, "members", st.dev1.ID), nil},
		{"POST", path("components"), component},
		{"PATCH", path("components", api), component},
		{"DELETE", path("components", db), nil},
		{"POST", path("components", db, "dependencies", web), nil},
		{"DELETE", path("components", api, "dependencies", db), nil},
		{"POST", path("components", api, "versions"), map[string]string{"version": kindString, "image_digest": kindString, "git_sha": kindString, "notes": kindString}},
		{"PATCH", path("components", api, "versions", v), map[string]string{"notes": kindString}},
		{"DELETE", path("components", api, "versions", v), nil},
		{"POST", path("tags"), map[string]string{"name": kindString}},
		{"PATCH", path("tags", tagID), map[string]string{"name": kindString}},
		{"DELETE", path("tags", tagID), nil},
		{"POST", path("environments"), environment},
		{"PATCH", path("environments", env), environment},
		{"DELETE", path("environments", env), nil},
		{"POST", path("deployments"), map[string]string{"component_id": kindInt, "environment_id": kindInt, "version_id": kindInt, "status": kindString, "deployed_at": kindString}},
		{"PATCH", path("users", st.dev1.ID), map[string]string{"name": kindString, "role": kindString}},
		{"DELETE", path("users", st.dev1.ID), nil},
		{"PUT", path("auth", "password"), map[string]string{"current_password": kindString, "new_password": kindString}},
		{"POST", path("service-types"), map[string]string{"name": kindString, "description": kindString}},
		{"PATCH", path("cloud-providers", st.cloudProviders["Azure"]), map[string]string{"name": kindString, "description": kindString}},
		{"DELETE", path("registry-providers", st.registryProviders["GitLab CR"]), nil},
		{"POST", path("invitations"), map[string]string{"email": kindString, "role": kindString}},
		{"POST", path("auth", "register"), map[string]string{"name": kindString, "email": kindString, "password": kindString, "company_id": kindInt, "role": kindString, "invitation_token": kindString}},
	}

	before := s.digest(st.a, st.b)
	oversized := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	tok := st.adminA.tok // every role allowed: the input alone is refused
	for _, ep := range endpoints {
		t.Run(ep.method+" "+ep.path, func(t *testing.T) {
			s := s.on(t)
			problem := func(r response, status int, field string) {
				t.Helper()
				if r.status >= 500 || r.status < 400 {
					t.Fatalf("%d, want a 4xx: %s", r.status, r.body)
				}
				s.expect(r, status, "")
				if field != "" && r.field() != field {
					t.Errorf("field %q, want %q (%s)", r.field(), field, r.body)
				}
			}
			if ep.fields == nil {
				// Endpoints without a body refuse one.
				for _, body := range []string{`{}`, `{"id":1}`, `x`} {
					problem(s.send(ep.method, ep.path, tok, body), 400, "")
				}
				problem(s.send(ep.method, ep.path, tok, oversized), 413, "")
			} else {
				for _, body := range []string{`{`, `{"name":`, `}`, `[]`, `[{}]`, `"text"`, `5`, `null`, `true`, `{"a":1} {"b":2}`,
					`{} x`, "\xff\xfe", `{"name":"x",}`, `{'name':'x'}`, `{"__proto__":{}}`, `{"zzz":1}`, `{"ID":1}`} {
					problem(s.send(ep.method, ep.path, tok, body), 400, "")
				}
				problem(s.send(ep.method, ep.path, tok, []byte{}), 400, "") // empty, yet declared JSON
				problem(s.send(ep.method, ep.path, tok, oversized), 413, "")
				for _, ct := range []string{"text/plain", "application/xml", "application/json; charset=latin1", "multipart/form-data; boundary=x"} {
					problem(s.send(ep.method, ep.path, tok, `{}`, "Content-Type", ct), 415, "")
				}
				for field, kind := range ep.fields {
					for _, wrong := range wrongValues(kind) {
						problem(s.send(ep.method, ep.path, tok, `{"`+field+`":`+wrong+`}`), 400, field)
					}
					// Repeated and differently-cased keys are refused too.
					problem(s.send(ep.method, ep.path, tok, `{"`+field+`":null,"`+field+`":null}`), 400, field)
					problem(s.send(ep.method, ep.path, tok, `{"`+strings.ToUpper(field)+`":null}`), 400, strings.ToUpper(field))
				}
			}
			// Malformed ids in the path are 404s, like absent ones.
			for idx := 0; ; idx++ {
				if _, ok := withBadID(ep.path, idx, "x"); !ok {
					break
				}
				body := "{}"
				if ep.fields == nil {
					body = ""
				}
				for _, bad := range []string{"0", "-1", "01", "+1", "1.0", "1e3", "abc", "99999999999999999999", "%27", "1%20OR%201=1"} {
					p, _ := withBadID(ep.path, idx, bad)
					problem(s.send(ep.method, p, tok, body), 404, "")
				}
				// The largest id is well-formed, only absent: the empty body
				// may be refused first (422), or the id (404).
				p, _ := withBadID(ep.path, idx, "9223372036854775807")
				if r := s.send(ep.method, p, tok, body); r.status != 404 && r.status != 422 {
					t.Errorf("%s %s: %d, want 404 or 422: %s", ep.method, p, r.status, r.body)
				} else {
					s.expect(r, r.status, "")
				}
			}
		})
	}

	// Bad query parameters on every list.
	lists := []string{path("users"), path("teams"), path("teams", team, "members"), path("components"),
		path("components", api, "dependencies"), path("components", api, "dependents"), path("components", api, "versions"),
		path("tags"), path("environments"), path("deployments"), path("deployments", "current"), path("activity"),
		path("cloud-providers"), path("registry-providers"), path("service-types")}
	for _, l := range lists {
		for _, q := range []string{"limit=0", "limit=-1", "limit=1.5", "limit=%00", "limit=1&limit=1", "cursor=%00", "cursor=" + strings.Repeat("A", 5000),
			"unknown=1", "cursor=eyJpZCI6MX0", "component_id=x", "environment_id=-1", "team_id=1%27", "q=%00", "lifecycle=x", "tag=%20"} {
			r := s.send("GET", l+"?"+q, tok, nil)
			if r.status != 400 {
				t.Errorf("GET %s?%s: %d, want 400: %s", l, q, r.status, r.body)
				continue
			}
			s.expect(r, 400, "bad_request")
		}
	}
	// Bad ids on every read.
	for _, p := range []string{path("users", "x"), path("teams", "0"), path("teams", "01", "members"), path("components", "-1"),
		path("components", "1e3", "versions"), path("components", api, "versions", "x"), path("tags", "99999999999999999999"),
		path("environments", "%27"), path("deployments", "1.0"), path("components", "x", "dependents")} {
		s.expect(s.send("GET", p, tok, nil), 404, "not_found")
	}
	s.unchanged(before, st.a, st.b)
}
