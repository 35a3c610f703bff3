package httpapi_test

import (
	"log/slog"
	"net/url"
	"testing"

	"github.com/schemata/schemata/adapters/httpapi"
	"github.com/schemata/schemata/domain"
)

// TestCursorKey checks that cursors are signed with Config.CursorKey: a
// cursor issued by one process is accepted by another with the same key (a
// fleet behind a load balancer), refused by one with another key or by a
// process with a random key, and bound to its list and tenant.
func TestCursorKey(t *testing.T) {
	t.Parallel()
	w := newFakeWorld()
	c := w.addCompany("acme")
	other := w.addCompany("globex")
	_, tok := w.addUser(c, "a@example.com", domain.RoleViewer)
	_, otherTok := w.addUser(other, "b@example.com", domain.RoleViewer)
	for _, name := range []string{"p1", "p2", "p3"} {
		w.addRef(c, domain.CloudProviders, name)
		w.addRef(c, domain.ServiceTypes, name)
		w.addRef(other, domain.CloudProviders, name)
	}
	svc := w.services(false)
	log := slog.New(slog.DiscardHandler)
	router := func(key string) *testEnv {
		cfg := httpapi.Config{}
		if key != "" {
			cfg.CursorKey = []byte(key)
		}
		return &testEnv{t: t, world: w, handler: httpapi.NewRouter(cfg, svc, log)}
	}
	issuer, twin, rotated, random := router("key-one"), router("key-one"), router("key-two"), router("")

	l := decodeBody[listOut](t, issuer.do(call{method: "GET", path: "/api/v1/cloud-providers?limit=1", token: tok}))
	if l.NextCursor == nil || len(l.Items) != 1 {
		t.Fatalf("page 1: %+v", l)
	}
	next := "/api/v1/cloud-providers?limit=1&cursor=" + url.QueryEscape(*l.NextCursor)

	page2 := decodeBody[listOut](t, twin.do(call{method: "GET", path: next, token: tok}))
	if len(page2.Items) != 1 || page2.Items[0].Name != "p2" {
		t.Fatalf("the same key, another router: %+v", page2)
	}
	for name, e := range map[string]*testEnv{"another key": rotated, "a random key": random} {
		if p := wantProblem(t, e.do(call{method: "GET", path: next, token: tok}), 400, "bad_request"); p.Field != "cursor" {
			t.Errorf("%s: field %q", name, p.Field)
		}
	}
	// Same key, but another list or another tenant.
	wantProblem(t, twin.do(call{method: "GET", path: "/api/v1/service-types?cursor=" + url.QueryEscape(*l.NextCursor), token: tok}), 400, "bad_request")
	wantProblem(t, twin.do(call{method: "GET", path: next, token: otherTok}), 400, "bad_request")
}
