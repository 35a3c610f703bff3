package app_test

import (
	"testing"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

func TestEnvironmentCreateValidation(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	valid := func() domain.Environment {
		return domain.Environment{Name: "staging", Category: domain.EnvStaging, CloudProviderID: s.cloud, Region: "eu-west-1"}
	}
	cases := []struct {
		field string
		mod   func(e *domain.Environment)
	}{
		{"name", func(e *domain.Environment) { e.Name = " " }},
		{"category", func(e *domain.Environment) { e.Category = "" }},
		{"category", func(e *domain.Environment) { e.Category = "prod" }},
		{"cloud_provider_id", func(e *domain.Environment) { e.CloudProviderID = 0 }},
		{"cloud_provider_id", func(e *domain.Environment) { e.CloudProviderID = 999_999 }},
		{"region", func(e *domain.Environment) { e.Region = "EU West" }},
	}
	before := len(w.activityOf(s.c))
	for _, tc := range cases {
		e := valid()
		tc.mod(&e)
		_, err := w.environments.Create(ctx, e)
		wantField(t, err, tc.field)
	}
	e := valid()
	e.Name = "PROD"
	_, err := w.environments.Create(ctx, e)
	wantCode(t, err, domain.CodeConflict)
	if len(w.cat[s.c].envs) != 2 || len(w.activityOf(s.c)) != before {
		t.Fatal("a refused create wrote something")
	}
	got, err := w.environments.Create(ctx, valid())
	if err != nil || got.Name != "staging" || got.Region != "eu-west-1" || got.ID <= 0 {
		t.Fatalf("create %+v %v", got, err)
	}
	if a := w.lastActivity(t, s.c); a.Action != "create" || a.EntityType != "environment" || a.EntityID != got.ID {
		t.Fatalf("activity %+v", a)
	}
}

func TestEnvironmentPatch(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	gcp := w.refID(t, s.c, domain.CloudProviders, "GCP")
	e, err := w.environments.Update(ctx, s.env.ID, app.EnvironmentPatch{Region: ptr("us-east-1"), CloudProviderID: &gcp})
	if err != nil || e.Region != "us-east-1" || e.CloudProviderID != gcp || e.Name != "prod" || e.Category != domain.EnvProduction {
		t.Fatalf("patch %+v %v", e, err)
	}
	e, err = w.environments.Update(ctx, s.env.ID, app.EnvironmentPatch{Region: ptr(""), Name: ptr("production"), Category: ptr("staging")})
	if err != nil || e.Region != "" || e.Name != "production" || e.Category != domain.EnvStaging || e.CloudProviderID != gcp {
		t.Fatalf("patch %+v %v", e, err)
	}
	before := len(w.activityOf(s.c))
	for field, patch := range map[string]app.EnvironmentPatch{
		"name":              {Name: ptr("")},
		"category":          {Category: ptr("live")},
		"region":            {Region: ptr("Mars!")},
		"cloud_provider_id": {CloudProviderID: i64(999_999)},
	} {
		_, err := w.environments.Update(ctx, s.env.ID, patch)
		wantField(t, err, field)
	}
	_, err = w.environments.Update(ctx, s.env.ID, app.EnvironmentPatch{Name: ptr("DEV")})
	wantCode(t, err, domain.CodeConflict)
	_, err = w.environments.Update(ctx, 999_999, app.EnvironmentPatch{Name: ptr("x")})
	wantCode(t, err, domain.CodeNotFound)
	if got := w.cat[s.c].envs[s.env.ID]; got.Name != "production" || len(w.activityOf(s.c)) != before {
		t.Fatalf("a refused patch changed %+v", got)
	}
}

func TestEnvironmentDelete(t *testing.T) {
	s := seed(t)
	w := s.w
	wantCode(t, w.environments.Delete(as(s.user), s.env.ID), domain.CodeConflict) // has deployments
	if err := w.environments.Delete(as(s.user), s.env2.ID); err != nil {
		t.Fatal(err)
	}
	if a := w.lastActivity(t, s.c); a.Action != "delete" || a.EntityType != "environment" || a.EntityID != s.env2.ID {
		t.Fatalf("activity %+v", a)
	}
	_, err := w.environments.Get(as(s.viewer), s.env2.ID)
	wantCode(t, err, domain.CodeNotFound)
	list, err := w.environments.List(as(s.viewer), domain.Page{})
	if err != nil || len(list) != 1 || list[0].ID != s.env.ID {
		t.Fatalf("list %+v %v", list, err)
	}
}
