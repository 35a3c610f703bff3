package app_test

import (
	"testing"
	"time"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

func TestDeploymentDefaults(t *testing.T) {
	s := seed(t)
	w := s.w
	w.now = w.now.Add(time.Hour)
	d, err := w.deployments.Record(as(s.user), app.DeploymentInput{ComponentID: s.comp.ID, EnvironmentID: s.env2.ID, VersionID: s.ver.ID})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != domain.DeploymentSucceeded || !d.DeployedAt.Equal(w.now) || d.Actor != s.user.Actor() || d.ID <= 0 {
		t.Fatalf("recorded %+v", d)
	}
	a := w.lastActivity(t, s.c)
	if a.Action != "create" || a.EntityType != "deployment" || a.EntityID != d.ID || a.Detail["status"] != "succeeded" ||
		a.Detail["version_id"] != itoa(s.ver.ID) || a.ActorID != s.user.UserID {
		t.Fatalf("activity %+v", a)
	}
	// An explicit time and status are kept (in UTC).
	at := w.now.Add(-time.Hour).In(time.FixedZone("CET", 3600))
	d, err = w.deployments.Record(as(s.user), app.DeploymentInput{ComponentID: s.comp.ID, EnvironmentID: s.env2.ID, VersionID: s.ver2.ID,
		Status: "failed", DeployedAt: &at})
	if err != nil || d.Status != domain.DeploymentFailed || !d.DeployedAt.Equal(at) || d.DeployedAt.Location() != time.UTC {
		t.Fatalf("recorded %+v %v", d, err)
	}
	// Up to five minutes of clock skew is accepted.
	skew := w.now.Add(app.MaxDeploymentClockSkew)
	if _, err := w.deployments.Record(as(s.user), app.DeploymentInput{ComponentID: s.comp.ID, EnvironmentID: s.env2.ID,
		VersionID: s.ver.ID, DeployedAt: &skew}); err != nil {
		t.Fatal(err)
	}
}

func TestDeploymentValidation(t *testing.T) {
	s := seed(t)
	w := s.w
	future := w.now.Add(app.MaxDeploymentClockSkew + time.Second)
	ancient := time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)
	var zero time.Time
	ok := app.DeploymentInput{ComponentID: s.comp.ID, EnvironmentID: s.env.ID, VersionID: s.ver.ID}
	cases := []struct {
		field string
		mod   func(in *app.DeploymentInput)
	}{
		{"deployed_at", func(in *app.DeploymentInput) { in.DeployedAt = &future }},
		{"deployed_at", func(in *app.DeploymentInput) { in.DeployedAt = &zero }},
		{"deployed_at", func(in *app.DeploymentInput) { in.DeployedAt = &ancient }},
		{"status", func(in *app.DeploymentInput) { in.Status = "done" }},
		{"component_id", func(in *app.DeploymentInput) { in.ComponentID = 0 }},
		{"environment_id", func(in *app.DeploymentInput) { in.EnvironmentID = -1 }},
		{"version_id", func(in *app.DeploymentInput) { in.VersionID = 0 }},
		// the store's answers
		{"component_id", func(in *app.DeploymentInput) { in.ComponentID = 999_999 }},
		{"environment_id", func(in *app.DeploymentInput) { in.EnvironmentID = 999_999 }},
		{"version_id", func(in *app.DeploymentInput) { in.VersionID = 999_999 }},
		{"version_id", func(in *app.DeploymentInput) { in.ComponentID = s.comp2.ID }}, // s.ver belongs to s.comp
	}
	before, deploys := len(w.activityOf(s.c)), len(w.cat[s.c].deploys)
	for _, tc := range cases {
		in := ok
		tc.mod(&in)
		_, err := w.deployments.Record(as(s.user), in)
		wantField(t, err, tc.field)
	}
	if len(w.activityOf(s.c)) != before || len(w.cat[s.c].deploys) != deploys {
		t.Fatal("a refused deployment wrote something")
	}
}

func TestDeploymentCurrentStateNeverMovesBackwards(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	record := func(version int64, status string, at time.Time) {
		t.Helper()
		if _, err := w.deployments.Record(ctx, app.DeploymentInput{ComponentID: s.comp.ID, EnvironmentID: s.env.ID,
			VersionID: version, Status: status, DeployedAt: &at}); err != nil {
			t.Fatal(err)
		}
	}
	current := func() domain.CurrentDeployment {
		t.Helper()
		cur, err := w.deployments.Current(as(s.viewer), domain.DeploymentFilter{ComponentID: s.comp.ID, EnvironmentID: s.env.ID}, ports.CurrentPage{})
		if err != nil || len(cur) != 1 {
			t.Fatalf("current %+v %v", cur, err)
		}
		return cur[0]
	}
	if cur := current(); cur.VersionID != s.ver.ID {
		t.Fatalf("seeded current %+v", cur)
	}
	record(s.ver2.ID, "succeeded", w.now.Add(time.Minute))
	if cur := current(); cur.VersionID != s.ver2.ID || cur.Version != "1.1.0" {
		t.Fatalf("after upgrade %+v", cur)
	}
	record(s.ver.ID, "succeeded", w.now.Add(-time.Hour)) // late, older event
	record(s.ver.ID, "failed", w.now.Add(2*time.Minute)) // newer, but failed
	if cur := current(); cur.VersionID != s.ver2.ID {
		t.Fatalf("moved backwards: %+v", cur)
	}
	hist, err := w.deployments.List(as(s.viewer), domain.DeploymentFilter{ComponentID: s.comp.ID}, domain.Page{})
	if err != nil || len(hist) != 4 || hist[0].Status != domain.DeploymentFailed {
		t.Fatalf("history %+v %v", hist, err)
	}
}

func TestDeploymentReadsClampAndValidate(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.viewer)
	if _, err := w.deployments.Current(ctx, domain.DeploymentFilter{}, ports.CurrentPage{Limit: 10_000, AfterComponent: -4}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.deployments.List(ctx, domain.DeploymentFilter{}, domain.Page{}); err != nil {
		t.Fatal(err)
	}
	cc := w.deployRepo.CurrentCalls()
	if p := cc[len(cc)-1].Page; p.Limit != domain.MaxPageSize || p.AfterComponent != 0 {
		t.Fatalf("current page %+v", p)
	}
	if _, err := w.deployments.Current(ctx, domain.DeploymentFilter{}, ports.CurrentPage{}); err != nil {
		t.Fatal(err)
	}
	cc = w.deployRepo.CurrentCalls()
	if p := cc[len(cc)-1].Page; p.Limit != domain.DefaultPageSize {
		t.Fatalf("current page %+v", p)
	}
	lc := w.deployRepo.ListCalls()
	if p := lc[len(lc)-1].Page; p.Limit != domain.DefaultPageSize {
		t.Fatalf("list page %+v", p)
	}
	_, err := w.deployments.List(ctx, domain.DeploymentFilter{ComponentID: -1}, domain.Page{})
	wantField(t, err, "component_id")
	_, err = w.deployments.Current(ctx, domain.DeploymentFilter{EnvironmentID: -1}, ports.CurrentPage{})
	wantField(t, err, "environment_id")
	_, err = w.deployments.Get(ctx, 999_999)
	wantCode(t, err, domain.CodeNotFound)
	_, adminB := w.company(t, "Beta")
	_, err = w.deployments.Get(as(adminB), s.deploy.ID)
	wantCode(t, err, domain.CodeNotFound)
	cur, err := w.deployments.Current(as(adminB), domain.DeploymentFilter{}, ports.CurrentPage{})
	if err != nil || len(cur) != 0 {
		t.Fatalf("tenant B sees %+v", cur)
	}
}
