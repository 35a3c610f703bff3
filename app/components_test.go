package app_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

func TestComponentCreateDefaultsAndTags(t *testing.T) {
	s := seed(t)
	w := s.w
	c, err := w.components.Create(as(s.user), domain.Component{ID: 777, Name: "checkout", ServiceTypeID: s.stype, TeamID: s.team.ID,
		Tags: []string{"pci", "team:core", "pci"}, Tier: intp(2), RepositoryURL: "https://git.example/checkout",
		RegistryProviderID: &s.registry, ImageRepository: "ghcr.io/acme/checkout"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == 777 || c.Lifecycle != domain.LifecycleExperimental || !slices.Equal(c.Tags, []string{"pci", "team:core"}) || *c.Tier != 2 {
		t.Fatalf("created %+v", c)
	}
	// An unknown tag name was created.
	found := false
	for _, tag := range w.cat[s.c].tags {
		found = found || tag.Name == "team:core"
	}
	if !found {
		t.Fatal("unknown tag not created")
	}
	if a := w.lastActivity(t, s.c); a.Action != "create" || a.EntityType != "component" || a.EntityID != c.ID || a.Detail["name"] != "checkout" {
		t.Fatalf("activity %+v", a)
	}
}

func TestComponentCreateValidationNamesTheField(t *testing.T) {
	s := seed(t)
	w := s.w
	valid := func() domain.Component {
		return domain.Component{Name: "svc", ServiceTypeID: s.stype, TeamID: s.team.ID}
	}
	cases := []struct {
		field string
		mod   func(c *domain.Component)
	}{
		{"name", func(c *domain.Component) { c.Name = "" }},
		{"name", func(c *domain.Component) { c.Name = "Has Spaces" }},
		{"name", func(c *domain.Component) { c.Name = strings.Repeat("a", 64) }},
		{"name", func(c *domain.Component) { c.Name = "a--b" }},
		{"description", func(c *domain.Component) { c.Description = strings.Repeat("d", domain.MaxDescriptionLen+1) }},
		{"service_type_id", func(c *domain.Component) { c.ServiceTypeID = 0 }},
		{"team_id", func(c *domain.Component) { c.TeamID = 0 }},
		{"lifecycle", func(c *domain.Component) { c.Lifecycle = "retired" }},
		{"tier", func(c *domain.Component) { c.Tier = intp(5) }},
		{"tier", func(c *domain.Component) { c.Tier = intp(0) }},
		{"repository_url", func(c *domain.Component) { c.RepositoryURL = "ftp://x.example/r" }},
		{"repository_url", func(c *domain.Component) { c.RepositoryURL = "https://user:pw@x.example/r" }},
		{"image_repository", func(c *domain.Component) { c.ImageRepository = "ghcr.io/acme/x:latest" }},
		{"registry_provider_id", func(c *domain.Component) { c.ImageRepository = "ghcr.io/acme/x" }},
		{"registry_provider_id", func(c *domain.Component) { c.RegistryProviderID = i64(-1) }},
		{"tags", func(c *domain.Component) { c.Tags = []string{"Upper"} }},
		// references the store does not know (or another tenant's)
		{"service_type_id", func(c *domain.Component) { c.ServiceTypeID = 999_999 }},
		{"team_id", func(c *domain.Component) { c.TeamID = 999_999 }},
		{"registry_provider_id", func(c *domain.Component) { c.RegistryProviderID = i64(999_999) }},
	}
	before := len(w.activityOf(s.c))
	for _, tc := range cases {
		c := valid()
		tc.mod(&c)
		_, err := w.components.Create(as(s.user), c)
		wantField(t, err, tc.field)
	}
	_, err := w.components.Create(as(s.user), domain.Component{Name: "payments-api", ServiceTypeID: s.stype, TeamID: s.team.ID})
	wantCode(t, err, domain.CodeConflict)
	if len(w.cat[s.c].comps) != 2 || len(w.activityOf(s.c)) != before {
		t.Fatal("a refused create wrote something")
	}
}

func TestComponentPatchSetClearUnchanged(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	c, err := w.components.Update(ctx, s.comp.ID, app.ComponentPatch{
		Tier: app.Optional[int]{Set: true, Value: intp(1)}, RegistryProviderID: app.Optional[int64]{Set: true, Value: &s.registry},
		ImageRepository: ptr("ghcr.io/acme/payments"), Lifecycle: ptr("production"), Description: ptr("pays")})
	if err != nil {
		t.Fatal(err)
	}
	if *c.Tier != 1 || *c.RegistryProviderID != s.registry || c.ImageRepository != "ghcr.io/acme/payments" ||
		c.Lifecycle != domain.LifecycleProduction || c.Name != "payments-api" || !slices.Equal(c.Tags, []string{"pci"}) {
		t.Fatalf("set %+v", c)
	}
	// Unset fields are left alone.
	c, err = w.components.Update(ctx, s.comp.ID, app.ComponentPatch{Name: ptr("payments")})
	if err != nil || c.Tier == nil || *c.Tier != 1 || c.RegistryProviderID == nil || c.Description != "pays" || c.Name != "payments" {
		t.Fatalf("unchanged %+v %v", c, err)
	}
	// Clearing the registry while an image repository is set is refused as a whole …
	before := len(w.activityOf(s.c))
	_, err = w.components.Update(ctx, s.comp.ID, app.ComponentPatch{RegistryProviderID: app.Optional[int64]{Set: true}})
	wantField(t, err, "registry_provider_id")
	// … and accepted together with the image repository.
	c, err = w.components.Update(ctx, s.comp.ID, app.ComponentPatch{RegistryProviderID: app.Optional[int64]{Set: true},
		ImageRepository: ptr(""), Tier: app.Optional[int]{Set: true}})
	if err != nil || c.RegistryProviderID != nil || c.Tier != nil || c.ImageRepository != "" {
		t.Fatalf("clear %+v %v", c, err)
	}
	// Tags are replaced (and new ones created); an empty list clears them.
	c, err = w.components.Update(ctx, s.comp.ID, app.ComponentPatch{Tags: &[]string{"b", "a"}})
	if err != nil || !slices.Equal(c.Tags, []string{"a", "b"}) {
		t.Fatalf("tags %+v %v", c.Tags, err)
	}
	c, err = w.components.Update(ctx, s.comp.ID, app.ComponentPatch{Tags: &[]string{}})
	if err != nil || len(c.Tags) != 0 {
		t.Fatalf("clear tags %+v %v", c.Tags, err)
	}
	if got := len(w.activityOf(s.c)) - before; got != 3 {
		t.Fatalf("activity records for 3 successful patches: %d", got)
	}
	if a := w.lastActivity(t, s.c); a.Action != "update" || a.EntityType != "component" || a.EntityID != s.comp.ID {
		t.Fatalf("activity %+v", a)
	}
}

func TestComponentPatchValidationChangesNothing(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	cases := []struct {
		field string
		patch app.ComponentPatch
	}{
		{"name", app.ComponentPatch{Name: ptr("Bad Name")}},
		{"lifecycle", app.ComponentPatch{Lifecycle: ptr("")}},
		{"lifecycle", app.ComponentPatch{Lifecycle: ptr("gone")}},
		{"tier", app.ComponentPatch{Tier: app.Optional[int]{Set: true, Value: intp(9)}}},
		{"team_id", app.ComponentPatch{TeamID: i64(0)}},
		{"team_id", app.ComponentPatch{TeamID: i64(999_999)}},
		{"service_type_id", app.ComponentPatch{ServiceTypeID: i64(999_999)}},
		{"registry_provider_id", app.ComponentPatch{RegistryProviderID: app.Optional[int64]{Set: true, Value: i64(999_999)}}},
		{"repository_url", app.ComponentPatch{RepositoryURL: ptr("not a url")}},
		{"tags", app.ComponentPatch{Tags: &[]string{"ok", "NOT OK"}}},
		{"description", app.ComponentPatch{Name: ptr("fine"), Description: ptr("a\x00b")}},
	}
	before := w.cat[s.c].comps[s.comp.ID]
	acts := len(w.activityOf(s.c))
	tags := len(w.cat[s.c].tags)
	for _, tc := range cases {
		_, err := w.components.Update(ctx, s.comp.ID, tc.patch)
		wantField(t, err, tc.field)
	}
	_, err := w.components.Update(ctx, s.comp.ID, app.ComponentPatch{Name: ptr("ledger")})
	wantCode(t, err, domain.CodeConflict)
	_, err = w.components.Update(ctx, 999_999, app.ComponentPatch{Name: ptr("x")})
	wantCode(t, err, domain.CodeNotFound)
	after := w.cat[s.c].comps[s.comp.ID]
	if after.Name != before.Name || after.Description != before.Description || !slices.Equal(after.Tags, before.Tags) ||
		len(w.activityOf(s.c)) != acts || len(w.cat[s.c].tags) != tags {
		t.Fatalf("a refused patch changed something: %+v", after)
	}
}

func TestComponentListFilters(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.viewer)
	got, err := w.components.List(ctx, domain.ComponentFilter{Tag: "pci"}, domain.Page{})
	if err != nil || len(got) != 1 || got[0].ID != s.comp.ID {
		t.Fatalf("by tag %+v %v", got, err)
	}
	f := domain.ComponentFilter{TeamID: s.team.ID, ServiceTypeID: s.stype, Lifecycle: domain.LifecycleExperimental, Query: "pay"}
	if got, err = w.components.List(ctx, f, domain.Page{Limit: 500}); err != nil || len(got) != 1 {
		t.Fatalf("filters %+v %v", got, err)
	}
	last := w.compRepoC.ListCalls()[len(w.compRepoC.ListCalls())-1]
	if last.F != f || last.Page.Limit != domain.MaxPageSize {
		t.Fatalf("repository got %+v", last)
	}
	bad := []struct {
		field string
		f     domain.ComponentFilter
	}{
		{"lifecycle", domain.ComponentFilter{Lifecycle: "retired"}},
		{"tag", domain.ComponentFilter{Tag: "Not A Tag"}},
		{"team_id", domain.ComponentFilter{TeamID: -1}},
		{"service_type_id", domain.ComponentFilter{ServiceTypeID: -1}},
		{"q", domain.ComponentFilter{Query: strings.Repeat("q", 64)}},
		{"q", domain.ComponentFilter{Query: "\xff"}},
	}
	calls := len(w.compRepoC.ListCalls())
	for _, tc := range bad {
		_, err := w.components.List(ctx, tc.f, domain.Page{})
		wantField(t, err, tc.field)
	}
	if len(w.compRepoC.ListCalls()) != calls {
		t.Fatal("a bad filter reached the repository")
	}
}

func TestComponentDeleteAndIsolation(t *testing.T) {
	s := seed(t)
	w := s.w
	before := len(w.activityOf(s.c))
	wantCode(t, w.components.Delete(as(s.user), s.comp.ID), domain.CodeConflict) // it has deployments
	if _, ok := w.cat[s.c].comps[s.comp.ID]; !ok || len(w.activityOf(s.c)) != before {
		t.Fatal("refused delete changed something")
	}
	_, adminB := w.company(t, "Beta")
	_, err := w.components.Get(as(adminB), s.comp.ID)
	wantCode(t, err, domain.CodeNotFound)
	wantCode(t, w.components.Delete(as(adminB), s.comp2.ID), domain.CodeNotFound)
	if err := w.components.Delete(as(s.user), s.comp2.ID); err != nil {
		t.Fatal(err)
	}
	if len(w.cat[s.c].deps) != 0 {
		t.Fatal("dependency links survived the component")
	}
	_, err = w.components.Get(as(s.user), s.comp2.ID)
	wantCode(t, err, domain.CodeNotFound)
	_, err = w.components.Get(as(s.user), 0)
	wantCode(t, err, domain.CodeNotFound)
}

func TestComponentDependencies(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	third, err := w.components.Create(ctx, domain.Component{Name: "web", ServiceTypeID: s.stype, TeamID: s.team.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.components.AddDependency(ctx, third.ID, s.comp.ID); err != nil {
		t.Fatal(err)
	}
	if a := w.lastActivity(t, s.c); a.Action != "add_dependency" || a.EntityID != third.ID || a.Detail["depends_on"] != itoa(s.comp.ID) {
		t.Fatalf("activity %+v", a)
	}
	deps, err := w.components.ListDependencies(as(s.viewer), s.comp.ID, domain.Page{})
	if err != nil || len(deps) != 1 || deps[0].ID != s.comp2.ID {
		t.Fatalf("dependencies %+v %v", deps, err)
	}
	dependents, err := w.components.ListDependents(as(s.viewer), s.comp.ID, domain.Page{})
	if err != nil || len(dependents) != 1 || dependents[0].ID != third.ID {
		t.Fatalf("dependents %+v %v", dependents, err)
	}
	before := len(w.activityOf(s.c))
	wantField(t, w.components.AddDependency(ctx, s.comp.ID, s.comp.ID), "depends_on")
	wantField(t, w.components.AddDependency(ctx, s.comp.ID, 999_999), "depends_on")
	wantField(t, w.components.AddDependency(ctx, s.comp.ID, 0), "depends_on")
	wantCode(t, w.components.AddDependency(ctx, s.comp.ID, s.comp2.ID), domain.CodeConflict)
	wantCode(t, w.components.AddDependency(ctx, 999_999, s.comp.ID), domain.CodeNotFound)
	wantCode(t, w.components.RemoveDependency(ctx, s.comp2.ID, s.comp.ID), domain.CodeNotFound)
	_, err = w.components.ListDependencies(ctx, 999_999, domain.Page{})
	wantCode(t, err, domain.CodeNotFound)
	_, err = w.components.ListDependents(ctx, 999_999, domain.Page{})
	wantCode(t, err, domain.CodeNotFound)
	if len(w.activityOf(s.c)) != before || len(w.cat[s.c].deps) != 2 {
		t.Fatal("a refused dependency change wrote something")
	}
	if err := w.components.RemoveDependency(ctx, s.comp.ID, s.comp2.ID); err != nil {
		t.Fatal(err)
	}
	if w.cat[s.c].deps[[2]int64{s.comp.ID, s.comp2.ID}] {
		t.Fatal("dependency not removed")
	}
}

func TestComponentVersions(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	v, err := w.components.CreateVersion(ctx, s.comp.ID, domain.Version{ID: 5, ComponentID: s.comp2.ID, Version: "1.1.0-rc.1+build.7",
		ImageDigest: "sha256:" + strings.Repeat("ab", 32), GitSHA: "abc1234", Notes: "rc"})
	if err != nil {
		t.Fatal(err)
	}
	if v.ComponentID != s.comp.ID || v.ID == 5 || v.SemVer.Prerelease[0] != "rc" {
		t.Fatalf("created %+v", v)
	}
	if a := w.lastActivity(t, s.c); a.Action != "create" || a.EntityType != "version" || a.EntityID != v.ID ||
		a.Detail["version"] != "1.1.0-rc.1+build.7" || a.Detail["component_id"] != itoa(s.comp.ID) {
		t.Fatalf("activity %+v", a)
	}
	// newest first by precedence: 1.1.0 > 1.1.0-rc.1 > 1.0.0
	list, err := w.components.ListVersions(as(s.viewer), s.comp.ID, domain.Page{})
	if err != nil || len(list) != 3 || list[0].Version != "1.1.0" || list[1].Version != "1.1.0-rc.1+build.7" || list[2].Version != "1.0.0" {
		t.Fatalf("list %+v %v", list, err)
	}
	before := len(w.activityOf(s.c))
	bad := []struct {
		field string
		v     domain.Version
	}{
		{"version", domain.Version{Version: "v1.0.0"}},
		{"version", domain.Version{Version: "1.0"}},
		{"version", domain.Version{Version: "01.0.0"}},
		{"image_digest", domain.Version{Version: "3.0.0", ImageDigest: "sha256:xyz"}},
		{"git_sha", domain.Version{Version: "3.0.0", GitSHA: "XYZ"}},
		{"notes", domain.Version{Version: "3.0.0", Notes: strings.Repeat("n", domain.MaxDescriptionLen+1)}},
	}
	for _, tc := range bad {
		_, err := w.components.CreateVersion(ctx, s.comp.ID, tc.v)
		wantField(t, err, tc.field)
	}
	// Build metadata is ignored for precedence.
	_, err = w.components.CreateVersion(ctx, s.comp.ID, domain.Version{Version: "1.0.0+other"})
	wantCode(t, err, domain.CodeConflict)
	_, err = w.components.CreateVersion(ctx, 999_999, domain.Version{Version: "1.0.0"})
	wantCode(t, err, domain.CodeNotFound)
	_, err = w.components.ListVersions(ctx, 999_999, domain.Page{})
	wantCode(t, err, domain.CodeNotFound)
	// A version is reached only through its own component.
	_, err = w.components.GetVersion(ctx, s.comp2.ID, s.ver.ID)
	wantCode(t, err, domain.CodeNotFound)
	_, err = w.components.UpdateVersionNotes(ctx, s.comp2.ID, s.ver.ID, "x")
	wantCode(t, err, domain.CodeNotFound)
	wantCode(t, w.components.DeleteVersion(ctx, s.comp2.ID, s.ver2.ID), domain.CodeNotFound)
	_, err = w.components.UpdateVersionNotes(ctx, s.comp.ID, s.ver.ID, "bad\x00notes")
	wantField(t, err, "notes")
	if len(w.activityOf(s.c)) != before || len(w.cat[s.c].versions) != 3 {
		t.Fatal("a refused version change wrote something")
	}

	got, err := w.components.UpdateVersionNotes(ctx, s.comp.ID, s.ver.ID, "first release")
	if err != nil || got.Notes != "first release" || got.Version != "1.0.0" {
		t.Fatalf("notes %+v %v", got, err)
	}
	// A version with deployments stays.
	wantCode(t, w.components.DeleteVersion(ctx, s.comp.ID, s.ver.ID), domain.CodeConflict)
	if err := w.components.DeleteVersion(ctx, s.comp.ID, s.ver2.ID); err != nil {
		t.Fatal(err)
	}
	if a := w.lastActivity(t, s.c); a.Action != "delete" || a.EntityType != "version" || a.EntityID != s.ver2.ID || a.Detail["version"] != "1.1.0" {
		t.Fatalf("activity %+v", a)
	}
	got, err = w.components.GetVersion(as(s.viewer), s.comp.ID, s.ver.ID)
	if err != nil || got.Notes != "first release" {
		t.Fatalf("get %+v %v", got, err)
	}
}
