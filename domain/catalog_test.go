package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/schemata/schemata/domain"
)

func TestComponentNameRule(t *testing.T) {
	for _, ok := range []string{"a", "payments", "payments-api", "svc_2.v1", "a-b_c.d", strings.Repeat("x", 63), "0"} {
		if _, err := domain.ValidateComponentName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Payments", "-a", "a-", "a--b", "a-.b", "a b", "a/b", "ünï", strings.Repeat("x", 64), "a;drop"} {
		if _, err := domain.ValidateComponentName(bad); !domain.IsCode(err, domain.CodeInvalid) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTagRules(t *testing.T) {
	for _, ok := range []string{"go", "c++", "c#", "team:payments", "pci-dss", "k8s-1:29"} {
		if _, err := domain.ValidateTagName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Go", "a_b", "a.b", "-a", "a-", "a--b", "a b", strings.Repeat("x", 64)} {
		if _, err := domain.ValidateTagName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	got, err := domain.NormalizeTags([]string{"web", "api", "web", "go"})
	if err != nil || strings.Join(got, ",") != "api,go,web" {
		t.Fatalf("NormalizeTags = %v, %v", got, err)
	}
	if _, err := domain.NormalizeTags(make([]string, 51)); err == nil {
		t.Fatal("51 tags accepted")
	}
}

func ptrInt(i int) *int     { return &i }
func ptrI64(i int64) *int64 { return &i }

func TestComponentValidate(t *testing.T) {
	valid := func() domain.Component {
		return domain.Component{Name: "payments", ServiceTypeID: 1, TeamID: 2, Tier: ptrInt(1),
			RepositoryURL: "https://git.example/acme/payments", RegistryProviderID: ptrI64(3), ImageRepository: "ghcr.io/acme/payments",
			Tags: []string{"web", "api"}}
	}
	c := valid()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Lifecycle != domain.LifecycleExperimental || strings.Join(c.Tags, ",") != "api,web" {
		t.Fatalf("defaults/normalisation: %+v", c)
	}
	cases := map[string]func(*domain.Component){
		"name":                 func(c *domain.Component) { c.Name = "Bad Name" },
		"service_type_id":      func(c *domain.Component) { c.ServiceTypeID = 0 },
		"team_id":              func(c *domain.Component) { c.TeamID = -1 },
		"lifecycle":            func(c *domain.Component) { c.Lifecycle = "retired" },
		"tier":                 func(c *domain.Component) { c.Tier = ptrInt(5) },
		"repository_url":       func(c *domain.Component) { c.RepositoryURL = "ftp://x.example/repo" },
		"image_repository":     func(c *domain.Component) { c.ImageRepository = "ghcr.io/Acme/payments:latest" },
		"registry_provider_id": func(c *domain.Component) { c.RegistryProviderID = nil },
		"tags":                 func(c *domain.Component) { c.Tags = []string{"Not A Tag"} },
	}
	for field, mod := range cases {
		c := valid()
		mod(&c)
		err := c.Validate()
		de, ok := err.(*domain.Error)
		if !ok || de.Code != domain.CodeInvalid || de.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
	if _, err := domain.ValidateRepositoryURL("https://user:pw@git.example/x"); err == nil {
		t.Error("credentials in repository_url accepted")
	}
}

func TestEnvironmentValidate(t *testing.T) {
	e := domain.Environment{Name: " Production ", Category: "production", CloudProviderID: 1, Region: "eu-west-1"}
	if err := e.Validate(); err != nil || e.Name != "Production" {
		t.Fatalf("%+v %v", e, err)
	}
	for field, mod := range map[string]func(*domain.Environment){
		"name":              func(e *domain.Environment) { e.Name = "" },
		"category":          func(e *domain.Environment) { e.Category = "prod" },
		"cloud_provider_id": func(e *domain.Environment) { e.CloudProviderID = 0 },
		"region":            func(e *domain.Environment) { e.Region = "EU West" },
	} {
		e := domain.Environment{Name: "x", Category: "testing", CloudProviderID: 1}
		mod(&e)
		if de, ok := e.Validate().(*domain.Error); !ok || de.Field != field {
			t.Errorf("%s: got %v", field, de)
		}
	}
}

func TestVersionValidate(t *testing.T) {
	v := domain.Version{Version: "1.2.3-rc.1+build.5", ImageDigest: "sha256:" + strings.Repeat("a", 64), GitSHA: "0123abc"}
	if err := v.Validate(); err != nil || v.SemVer.Patch != 3 {
		t.Fatalf("%+v %v", v, err)
	}
	for field, mod := range map[string]func(*domain.Version){
		"version":      func(v *domain.Version) { v.Version = "1.2" },
		"image_digest": func(v *domain.Version) { v.ImageDigest = "sha256:" + strings.Repeat("A", 64) },
		"git_sha":      func(v *domain.Version) { v.GitSHA = "xyz" },
		"notes":        func(v *domain.Version) { v.Notes = strings.Repeat("n", domain.MaxDescriptionLen+1) },
	} {
		v := domain.Version{Version: "1.0.0"}
		mod(&v)
		if de, ok := v.Validate().(*domain.Error); !ok || de.Field != field {
			t.Errorf("%s: got %v", field, de)
		}
	}
}

func TestStatusesAndInvitation(t *testing.T) {
	if s, err := domain.ParseDeploymentStatus(""); err != nil || s != domain.DeploymentSucceeded {
		t.Fatal("default status")
	}
	if _, err := domain.ParseDeploymentStatus("done"); err == nil {
		t.Fatal("bad status accepted")
	}
	if l, err := domain.ParseLifecycle(""); err != nil || l != domain.LifecycleExperimental {
		t.Fatal("default lifecycle")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	inv := domain.Invitation{ExpiresAt: now.Add(time.Hour)}
	if !inv.Usable(now) || inv.Usable(now.Add(time.Hour)) {
		t.Fatal("expiry")
	}
	inv.UsedAt = &now
	if inv.Usable(now) {
		t.Fatal("a used invitation is usable")
	}
}
