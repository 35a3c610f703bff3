package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// TestCatalogComponents runs the component contract against the postgres
// adapter.
func TestCatalogComponents(t *testing.T) {
	t.Parallel()
	_, newEnv := catalogFactory(t)
	testComponentRepositoryContract(t, newEnv)
}

func componentID(c domain.Component) int64 { return c.ID }

func ptr[T any](v T) *T { return &v }

// assertComponent compares every field of got with want (timestamps must be
// set; want's are compared when set).
func assertComponent(t *testing.T, what string, got, want domain.Component) {
	t.Helper()
	if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		t.Errorf("%s: timestamps not set: %+v", what, got)
	}
	if !want.CreatedAt.IsZero() {
		if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
			t.Errorf("%s: timestamps %v/%v, want %v/%v", what, got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
		}
	}
	got.CreatedAt, got.UpdatedAt = want.CreatedAt, want.UpdatedAt
	if want.ID == 0 {
		want.ID = got.ID
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// testComponentRepositoryContract checks a ports.ComponentRepository (with
// the team, tag, version and deployment repositories of the same store).
func testComponentRepositoryContract(t *testing.T, newEnv func(t *testing.T) catalogEnv) {
	getC := func(t *testing.T, env catalogEnv, id int64) (domain.Component, error) {
		t.Helper()
		return read(t, env, env.A, func(ctx context.Context) (domain.Component, error) { return env.Components.Get(ctx, id) })
	}
	createC := func(t *testing.T, env catalogEnv, c domain.Component) (domain.Component, error) {
		t.Helper()
		return write(t, env, env.A, func(ctx context.Context) (domain.Component, error) { return env.Components.Create(ctx, c) })
	}
	updateC := func(t *testing.T, env catalogEnv, c domain.Component) (domain.Component, error) {
		t.Helper()
		return write(t, env, env.A, func(ctx context.Context) (domain.Component, error) { return env.Components.Update(ctx, c) })
	}
	tagNames := func(t *testing.T, env catalogEnv, id tenancy.CompanyID) []string {
		t.Helper()
		tags, err := read(t, env, id, func(ctx context.Context) ([]domain.Tag, error) { return env.Tags.List(ctx, domain.Page{}) })
		must(t, err, "list tags")
		names := make([]string, len(tags))
		for i, tg := range tags {
			names[i] = tg.Name
		}
		return names
	}

	t.Run("create and get with every field and tags", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "Payments")
		// "existing" is there before; "new-one" and "tier:1" are created.
		_, err := write(t, env, env.A, func(ctx context.Context) (domain.Tag, error) {
			return env.Tags.Create(ctx, domain.Tag{Name: "existing"})
		})
		must(t, err, "create tag")
		in := domain.Component{
			Name:               "payments-api",
			Description:        "Takes money",
			ServiceTypeID:      seededService2,
			TeamID:             team.ID,
			Lifecycle:          domain.LifecycleProduction,
			Tier:               ptr(1),
			RepositoryURL:      "https://git.example.com/payments",
			RegistryProviderID: ptr(seededRegistry),
			ImageRepository:    "ghcr.io/acme/payments",
			Tags:               []string{"existing", "new-one", "tier:1"},
		}
		created, err := createC(t, env, in)
		must(t, err, "create")
		if created.ID <= 0 {
			t.Fatalf("created without id: %+v", created)
		}
		assertComponent(t, "create", created, in)
		got, err := getC(t, env, created.ID)
		must(t, err, "get")
		assertComponent(t, "get", got, created)
		if names := tagNames(t, env, env.A); fmt.Sprint(names) != "[existing new-one tier:1]" {
			t.Errorf("tags after create = %v", names)
		}

		// Without tags, optional fields unset: tags is an empty list.
		bare, err := createC(t, env, newComponent("bare", team.ID))
		must(t, err, "create bare")
		got, err = getC(t, env, bare.ID)
		must(t, err, "get bare")
		if got.Tags == nil || len(got.Tags) != 0 || got.Tier != nil || got.RegistryProviderID != nil {
			t.Errorf("bare component %+v", got)
		}
		// An unset lifecycle is stored as the default.
		noLife := newComponent("no-lifecycle", team.ID)
		noLife.Lifecycle = ""
		c, err := createC(t, env, noLife)
		must(t, err, "create without lifecycle")
		if c.Lifecycle != domain.LifecycleExperimental {
			t.Errorf("lifecycle = %q, want experimental", c.Lifecycle)
		}
	})

	t.Run("tags come back sorted bytewise", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		tags := []string{"#b", "+a", "1", ":z", "a", "a-b", "ab", "b"}
		in := newComponent("sorted", team.ID, tags...)
		c := mkComponent(t, env, env.A, in)
		got, err := getC(t, env, c.ID)
		must(t, err, "get")
		if fmt.Sprint(got.Tags) != fmt.Sprint(tags) || fmt.Sprint(c.Tags) != fmt.Sprint(tags) {
			t.Errorf("tags create %v, get %v; want %v", c.Tags, got.Tags, tags)
		}
	})

	t.Run("update replaces every field and the tag set", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "One")
		team2 := mkTeam(t, env, env.A, "Two")
		in := newComponent("svc", team.ID, "drop-me", "keep-me")
		in.Tier, in.RegistryProviderID, in.ImageRepository = ptr(2), ptr(seededRegistry), "ghcr.io/acme/svc"
		c := mkComponent(t, env, env.A, in)
		other := mkComponent(t, env, env.A, newComponent("other", team.ID, "drop-me"))

		want := domain.Component{
			ID: c.ID, Name: "svc-renamed", Description: "now described", ServiceTypeID: seededService2,
			TeamID: team2.ID, Lifecycle: domain.LifecycleDeprecated, Tier: nil, RepositoryURL: "http://example.com/x",
			RegistryProviderID: nil, ImageRepository: "", Tags: []string{"added", "keep-me"},
		}
		got, err := updateC(t, env, want)
		must(t, err, "update")
		assertComponent(t, "update", got, want)
		if !got.CreatedAt.Equal(c.CreatedAt) || !got.UpdatedAt.After(c.UpdatedAt) {
			t.Errorf("update timestamps %v/%v, before %v/%v", got.CreatedAt, got.UpdatedAt, c.CreatedAt, c.UpdatedAt)
		}
		stored, err := getC(t, env, c.ID)
		must(t, err, "get")
		assertComponent(t, "get after update", stored, got)
		// The other component keeps its tag; the detached tag still exists.
		o, err := getC(t, env, other.ID)
		must(t, err, "get other")
		if fmt.Sprint(o.Tags) != "[drop-me]" {
			t.Errorf("other component's tags = %v", o.Tags)
		}
		// Clearing every tag.
		want.Tags = []string{}
		got, err = updateC(t, env, want)
		must(t, err, "update without tags")
		if got.Tags == nil || len(got.Tags) != 0 {
			t.Errorf("tags after clearing = %#v", got.Tags)
		}
		stored, err = getC(t, env, c.ID)
		must(t, err, "get")
		if len(stored.Tags) != 0 {
			t.Errorf("stored tags after clearing = %v", stored.Tags)
		}
	})

	t.Run("absent component is not found and creates nothing", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		_, err := getC(t, env, absentID)
		wantCode(t, err, domain.CodeNotFound, "get")
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Components.Delete(ctx, absentID) })
		wantCode(t, err, domain.CodeNotFound, "delete")
		// The unit of work commits despite the NotFound: an update of an
		// absent component must not have created its tags.
		err = exec(t, env, env.A, func(ctx context.Context) error {
			c := newComponent("ghost", team.ID, "ghost-tag")
			c.ID = absentID
			_, err := env.Components.Update(ctx, c)
			wantCode(t, err, domain.CodeNotFound, "update")
			return nil
		})
		must(t, err, "unit of work")
		if names := tagNames(t, env, env.A); len(names) != 0 {
			t.Errorf("an update of an absent component created tags %v", names)
		}
	})

	t.Run("names are unique and checked", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		mkComponent(t, env, env.A, newComponent("billing", team.ID))
		other := mkComponent(t, env, env.A, newComponent("invoices", team.ID))
		_, err := createC(t, env, newComponent("billing", team.ID, "fresh"))
		if de := wantCode(t, err, domain.CodeConflict, "create duplicate"); !mentions(de, `"billing"`) {
			t.Errorf("conflict message %q does not name the component", de.Message)
		}
		renamed := other
		renamed.Name = "billing"
		_, err = updateC(t, env, renamed)
		wantCode(t, err, domain.CodeConflict, "rename onto another's name")
		// Upper case breaks the name rule (names compare case-insensitively
		// and are stored lower-case).
		_, err = createC(t, env, newComponent("Billing", team.ID))
		if de := wantCode(t, err, domain.CodeInvalid, "upper-case name"); de.Field != "name" {
			t.Errorf("field = %q, want name", de.Field)
		}
		if names := tagNames(t, env, env.A); len(names) != 0 {
			t.Errorf("a refused create left tags %v", names)
		}
		mkComponent(t, env, env.B, newComponent("billing", mkTeam(t, env, env.B, "T").ID))
	})

	t.Run("bad values are invalid naming the field", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		for _, tc := range []struct {
			field string
			edit  func(c *domain.Component)
		}{
			{"service_type_id", func(c *domain.Component) { c.ServiceTypeID = absentID }},
			{"team_id", func(c *domain.Component) { c.TeamID = absentID }},
			{"registry_provider_id", func(c *domain.Component) { c.RegistryProviderID = ptr(absentID) }},
			{"tier", func(c *domain.Component) { c.Tier = ptr(5) }},
			{"lifecycle", func(c *domain.Component) { c.Lifecycle = "retired" }},
			{"tags", func(c *domain.Component) { c.Tags = []string{"Not A Tag"} }},
			{"name", func(c *domain.Component) { c.Name = strings.Repeat("a", 64) }},
		} {
			c := newComponent("checked", team.ID)
			tc.edit(&c)
			_, err := createC(t, env, c)
			if de := wantCode(t, err, domain.CodeInvalid, "create with bad "+tc.field); de.Field != tc.field {
				t.Errorf("bad %s: field %q (%v)", tc.field, de.Field, err)
			}
			if tc.field == "service_type_id" || tc.field == "team_id" || tc.field == "registry_provider_id" {
				if !mentions(err, "does not exist") {
					t.Errorf("bad %s: message %v does not say it does not exist", tc.field, err)
				}
			}
		}
		c := mkComponent(t, env, env.A, newComponent("checked", team.ID))
		c.TeamID = absentID
		_, err := updateC(t, env, c)
		if de := wantCode(t, err, domain.CodeInvalid, "update with absent team"); de.Field != "team_id" {
			t.Errorf("field = %q, want team_id", de.Field)
		}
	})

	t.Run("filters", func(t *testing.T) {
		env := newEnv(t)
		t1 := mkTeam(t, env, env.A, "T1")
		t2 := mkTeam(t, env, env.A, "T2")
		mk := func(name string, team int64, st int64, lc domain.Lifecycle, tags ...string) int64 {
			c := newComponent(name, team, tags...)
			c.ServiceTypeID, c.Lifecycle = st, lc
			return mkComponent(t, env, env.A, c).ID
		}
		payments := mk("payments", t1.ID, seededService, domain.LifecycleProduction, "gold", "pci")
		payUnder := mk("pay_ments", t1.ID, seededService2, domain.LifecycleExperimental, "gold")
		ledger := mk("ledger", t2.ID, seededService, domain.LifecycleProduction, "pci")
		paypal := mk("paypal.adapter", t2.ID, seededService2, domain.LifecycleDeprecated)
		web := mk("web", t2.ID, seededService, domain.LifecycleExperimental, "gold-plated")

		for _, tc := range []struct {
			name string
			f    domain.ComponentFilter
			want []int64
		}{
			{"none", domain.ComponentFilter{}, []int64{payments, payUnder, ledger, paypal, web}},
			{"team", domain.ComponentFilter{TeamID: t2.ID}, []int64{ledger, paypal, web}},
			{"service type", domain.ComponentFilter{ServiceTypeID: seededService2}, []int64{payUnder, paypal}},
			{"lifecycle", domain.ComponentFilter{Lifecycle: domain.LifecycleProduction}, []int64{payments, ledger}},
			{"tag is exact", domain.ComponentFilter{Tag: "gold"}, []int64{payments, payUnder}},
			{"absent tag", domain.ComponentFilter{Tag: "silver"}, nil},
			{"q substring", domain.ComponentFilter{Query: "pay"}, []int64{payments, payUnder, paypal}},
			{"q case-insensitive", domain.ComponentFilter{Query: "LEDG"}, []int64{ledger}},
			{"q underscore is literal", domain.ComponentFilter{Query: "_"}, []int64{payUnder}},
			{"q underscore inside is literal", domain.ComponentFilter{Query: "y_m"}, []int64{payUnder}},
			{"q percent is literal", domain.ComponentFilter{Query: "%"}, nil},
			{"q percent inside is literal", domain.ComponentFilter{Query: "pay%s"}, nil},
			{"q backslash is literal", domain.ComponentFilter{Query: `\`}, nil},
			{"q escaped underscore is literal", domain.ComponentFilter{Query: `\_`}, nil},
			{"q dot is literal", domain.ComponentFilter{Query: "."}, []int64{paypal}},
			{"combined", domain.ComponentFilter{TeamID: t1.ID, Tag: "pci", Query: "pay", Lifecycle: domain.LifecycleProduction,
				ServiceTypeID: seededService}, []int64{payments}},
			{"combined, nothing", domain.ComponentFilter{TeamID: t2.ID, Tag: "gold"}, nil},
		} {
			got, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Component, error) {
				return env.Components.List(ctx, tc.f, domain.Page{})
			})
			must(t, err, tc.name)
			if fmt.Sprint(idsOf(got, componentID)) != fmt.Sprint(idsOf(tc.want, func(id int64) int64 { return id })) {
				t.Errorf("filter %s: got %v, want %v", tc.name, idsOf(got, componentID), tc.want)
			}
		}
		// Listed components carry their tags.
		got, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Component, error) {
			return env.Components.List(ctx, domain.ComponentFilter{TeamID: t1.ID}, domain.Page{})
		})
		must(t, err, "list")
		if len(got) != 2 || fmt.Sprint(got[0].Tags) != "[gold pci]" || fmt.Sprint(got[1].Tags) != "[gold]" {
			t.Errorf("listed components' tags: %+v", got)
		}
	})

	t.Run("list pages in id order, filtered too", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		var all, tagged []int64
		for i := range 9 {
			var tags []string
			if i%2 == 0 {
				tags = []string{"even"}
			}
			id := mkComponent(t, env, env.A, newComponent(fmt.Sprintf("c%d", i), team.ID, tags...)).ID
			all = append(all, id)
			if i%2 == 0 {
				tagged = append(tagged, id)
			}
		}
		for _, limit := range []int{1, 2, 4, 9, 200} {
			checkKeyset(t, all, limit, func(page domain.Page) ([]int64, error) {
				cs, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Component, error) {
					return env.Components.List(ctx, domain.ComponentFilter{}, page)
				})
				return idsOf(cs, componentID), err
			})
			checkKeyset(t, tagged, limit, func(page domain.Page) ([]int64, error) {
				cs, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Component, error) {
					return env.Components.List(ctx, domain.ComponentFilter{Tag: "even"}, page)
				})
				return idsOf(cs, componentID), err
			})
		}
	})

	t.Run("dependencies", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		var cs []int64
		for i := range 5 {
			cs = append(cs, mkComponent(t, env, env.A, newComponent(fmt.Sprintf("dep%d", i), team.ID)).ID)
		}
		add := func(id, other int64) error {
			return exec(t, env, env.A, func(ctx context.Context) error { return env.Components.AddDependency(ctx, id, other) })
		}
		// cs[0] depends on 1..4 (added out of order); 1..3 depend on 4.
		for _, o := range []int{3, 1, 4, 2} {
			must(t, add(cs[0], cs[o]), "add dependency")
		}
		for _, i := range []int{2, 1, 3} {
			must(t, add(cs[i], cs[4]), "add dependency")
		}
		deps := func(id int64, page domain.Page) ([]domain.Component, error) {
			return read(t, env, env.A, func(ctx context.Context) ([]domain.Component, error) {
				return env.Components.ListDependencies(ctx, id, page)
			})
		}
		dependents := func(id int64, page domain.Page) ([]domain.Component, error) {
			return read(t, env, env.A, func(ctx context.Context) ([]domain.Component, error) {
				return env.Components.ListDependents(ctx, id, page)
			})
		}
		for _, limit := range []int{1, 3, 10} {
			checkKeyset(t, cs[1:], limit, func(page domain.Page) ([]int64, error) {
				got, err := deps(cs[0], page)
				return idsOf(got, componentID), err
			})
			checkKeyset(t, cs[:4], limit, func(page domain.Page) ([]int64, error) {
				got, err := dependents(cs[4], page)
				return idsOf(got, componentID), err
			})
		}

		err := add(cs[0], cs[1])
		wantCode(t, err, domain.CodeConflict, "duplicate dependency")
		err = add(cs[2], cs[2])
		if de := wantCode(t, err, domain.CodeInvalid, "self-loop"); de.Field != "depends_on" {
			t.Errorf("self-loop field = %q", de.Field)
		}
		err = add(cs[2], absentID)
		if de := wantCode(t, err, domain.CodeInvalid, "absent other"); de.Field != "depends_on" {
			t.Errorf("absent other field = %q", de.Field)
		}
		wantCode(t, add(absentID, cs[2]), domain.CodeNotFound, "absent component")

		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Components.RemoveDependency(ctx, cs[0], cs[2]) }), "remove")
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Components.RemoveDependency(ctx, cs[0], cs[2]) })
		wantCode(t, err, domain.CodeNotFound, "remove again")
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Components.RemoveDependency(ctx, cs[4], cs[0]) })
		wantCode(t, err, domain.CodeNotFound, "remove the reverse direction")
		got, err := deps(cs[0], domain.Page{})
		must(t, err, "list")
		if fmt.Sprint(idsOf(got, componentID)) != fmt.Sprint([]int64{cs[1], cs[3], cs[4]}) {
			t.Errorf("dependencies after removal = %v", idsOf(got, componentID))
		}

		_, err = deps(absentID, domain.Page{})
		wantCode(t, err, domain.CodeNotFound, "dependencies of an absent component")
		_, err = dependents(absentID, domain.Page{})
		wantCode(t, err, domain.CodeNotFound, "dependents of an absent component")
		got, err = deps(cs[4], domain.Page{})
		if err != nil || len(got) != 0 {
			t.Errorf("dependencies of a leaf = %v, %v", got, err)
		}

		// Deleting a component removes its links both ways.
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Components.Delete(ctx, cs[4]) }), "delete")
		got, err = deps(cs[0], domain.Page{})
		must(t, err, "list")
		if fmt.Sprint(idsOf(got, componentID)) != fmt.Sprint([]int64{cs[1], cs[3]}) {
			t.Errorf("dependencies after deleting one = %v", idsOf(got, componentID))
		}
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Components.Delete(ctx, cs[0]) }), "delete")
		got, err = dependents(cs[1], domain.Page{})
		if err != nil || len(got) != 0 {
			t.Errorf("dependents after deleting the dependent = %v, %v", got, err)
		}
	})

	t.Run("delete takes versions and tags, refuses with deployments", func(t *testing.T) {
		env := newEnv(t)
		w := mkWorld(t, env, env.A)
		plain := mkComponent(t, env, env.A, newComponent("plain", w.Team.ID, "tier:gold", "solo"))
		v := mkVersion(t, env, env.A, plain.ID, "0.1.0")
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Components.Delete(ctx, plain.ID) }), "delete")
		_, err := read(t, env, env.A, func(ctx context.Context) (domain.Version, error) { return env.Versions.Get(ctx, plain.ID, v.ID) })
		wantCode(t, err, domain.CodeNotFound, "version of a deleted component")
		byTag, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Component, error) {
			return env.Components.List(ctx, domain.ComponentFilter{Tag: "tier:gold"}, domain.Page{})
		})
		if err != nil || len(byTag) != 1 || byTag[0].ID != w.Component.ID {
			t.Errorf("tag filter after delete = %v, %v", idsOf(byTag, componentID), err)
		}

		record(t, env, env.A, domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID,
			VersionID: w.Version.ID, Status: domain.DeploymentFailed, DeployedAt: stamp(0), Actor: "user:1"})
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Components.Delete(ctx, w.Component.ID) })
		if de := wantCode(t, err, domain.CodeConflict, "delete with deployments"); !mentions(de, "deployments") {
			t.Errorf("conflict message %q does not say why", de.Message)
		}
		_, err = getC(t, env, w.Component.ID)
		must(t, err, "component still there")
	})

	t.Run("tenant isolation", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "A")
		mine := mkComponent(t, env, env.A, newComponent("mine", team.ID, "a-tag"))
		bTeams := []domain.Team{mkTeam(t, env, env.B, "B1"), mkTeam(t, env, env.B, "B2"), mkTeam(t, env, env.B, "B3")}
		var theirs domain.Component
		for i := range 3 {
			theirs = mkComponent(t, env, env.B, newComponent(fmt.Sprintf("theirs%d", i), bTeams[2].ID, "b-tag"))
		}

		_, err := getC(t, env, theirs.ID)
		wantCode(t, err, domain.CodeNotFound, "get B's component in A")
		upd := theirs
		upd.TeamID = team.ID
		_, err = updateC(t, env, upd)
		wantCode(t, err, domain.CodeNotFound, "update B's component in A")
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Components.Delete(ctx, theirs.ID) })
		wantCode(t, err, domain.CodeNotFound, "delete B's component in A")
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Components.AddDependency(ctx, mine.ID, theirs.ID) })
		if de := wantCode(t, err, domain.CodeInvalid, "depend on B's component"); de.Field != "depends_on" {
			t.Errorf("field %q", de.Field)
		}
		_, err = createC(t, env, newComponent("sneaky", bTeams[2].ID))
		if de := wantCode(t, err, domain.CodeInvalid, "create in A with B's team"); de.Field != "team_id" {
			t.Errorf("field %q", de.Field)
		}
		list, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Component, error) {
			return env.Components.List(ctx, domain.ComponentFilter{Tag: "b-tag"}, domain.Page{})
		})
		if err != nil || len(list) != 0 {
			t.Errorf("A filtering by B's tag = %v, %v", list, err)
		}
		got, err := read(t, env, env.B, func(ctx context.Context) (domain.Component, error) { return env.Components.Get(ctx, theirs.ID) })
		must(t, err, "get in B")
		assertComponent(t, "B's component after A's attempts", got, theirs)
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		env := newEnv(t)
		ctx := t.Context()
		var err error
		_, err = env.Components.List(ctx, domain.ComponentFilter{}, domain.Page{})
		wantNoScope(t, env.tenantEnv, err, "List")
		_, err = env.Components.Get(ctx, 1)
		wantNoScope(t, env.tenantEnv, err, "Get")
		_, err = env.Components.Create(ctx, newComponent("x", 1))
		wantNoScope(t, env.tenantEnv, err, "Create")
		_, err = env.Components.Update(ctx, newComponent("x", 1))
		wantNoScope(t, env.tenantEnv, err, "Update")
		wantNoScope(t, env.tenantEnv, env.Components.Delete(ctx, 1), "Delete")
		wantNoScope(t, env.tenantEnv, env.Components.AddDependency(ctx, 1, 2), "AddDependency")
		wantNoScope(t, env.tenantEnv, env.Components.RemoveDependency(ctx, 1, 2), "RemoveDependency")
		_, err = env.Components.ListDependencies(ctx, 1, domain.Page{})
		wantNoScope(t, env.tenantEnv, err, "ListDependencies")
		_, err = env.Components.ListDependents(ctx, 1, domain.Page{})
		wantNoScope(t, env.tenantEnv, err, "ListDependents")
	})
}

// TestCatalogComponentRoundTrips pins the wire cost the HTTP read path and
// the write path rely on: a Get (tags included) and a List are one message
// each; a Create or Update with tags, new ones included, is one message.
func TestCatalogComponentRoundTrips(t *testing.T) {
	t.Parallel()
	db, log := newLoggedDB(t, 2)
	id := newTenants(t, db, 1)[0]
	uow := postgres.NewUnitOfWork(db)
	repos := newCatalogRepos(db)
	env := catalogEnv{catalogRepos: repos, tenantEnv: tenantEnv{UoW: uow, A: id, ErrNoScope: postgres.ErrNoTenantScope}}
	team := mkTeam(t, env, id, "T")
	c := mkComponent(t, env, id, newComponent("svc", team.ID, "a", "b"))
	log.Take()

	count := func(what string, want int, fn func(ctx context.Context) error) {
		t.Helper()
		must(t, uow.ReadTenant(t.Context(), id, fn), what)
		if msgs := log.Take(); len(msgs) != want {
			t.Errorf("%s cost %d round trips, want %d: %q", what, len(msgs), want, msgs)
		}
	}
	count("Get", 1, func(ctx context.Context) error {
		got, err := repos.Components.Get(ctx, c.ID)
		if err == nil && fmt.Sprint(got.Tags) != "[a b]" {
			t.Errorf("Get tags = %v", got.Tags)
		}
		return err
	})
	count("List", 1, func(ctx context.Context) error {
		_, err := repos.Components.List(ctx, domain.ComponentFilter{Tag: "a", Query: "sv"}, domain.Page{})
		return err
	})

	writes := func(what string, fn func(ctx context.Context, repo ports.ComponentRepository) error) {
		t.Helper()
		must(t, uow.WithinTenant(t.Context(), id, func(ctx context.Context) error { return fn(ctx, repos.Components) }), what)
		if msgs := log.Take(); len(msgs) != 2 { // the statement, then COMMIT
			t.Errorf("%s cost %d round trips, want 2 (statement, commit): %q", what, len(msgs), msgs)
		}
	}
	writes("Create with new tags", func(ctx context.Context, repo ports.ComponentRepository) error {
		_, err := repo.Create(ctx, newComponent("svc2", team.ID, "b", "new"))
		return err
	})
	writes("Update with new tags", func(ctx context.Context, repo ports.ComponentRepository) error {
		u := c
		u.Tags = []string{"a", "newer"}
		_, err := repo.Update(ctx, u)
		return err
	})
}

// TestCatalogComponentConcurrentNewTag checks that a tag created by a
// concurrent transaction is not lost: the second writer waits on the first's
// uncommitted tag (its unique key) and, once the first commits, still
// attaches the tag. (A single statement would not see the tag in its
// snapshot and would drop it silently.) The test waits for the lock wait in
// pg_locks; nothing depends on timing.
func TestCatalogComponentConcurrentNewTag(t *testing.T) {
	t.Parallel()
	store, newEnv := catalogFactory(t)
	env := newEnv(t)
	team := mkTeam(t, env, env.A, "T")
	ctx := t.Context()

	created, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- store.uow.WithinTenant(ctx, env.A, func(ctx context.Context) error {
			_, err := env.Components.Create(ctx, newComponent("first", team.ID, "shared"))
			close(created)
			if err != nil {
				return err
			}
			<-release
			return nil
		})
	}()
	<-created
	type result struct {
		c   domain.Component
		err error
	}
	secondDone := make(chan result, 1)
	go func() {
		c, err := inTenant(t, store.uow, env.A, func(ctx context.Context) (domain.Component, error) {
			return env.Components.Create(ctx, newComponent("second", team.ID, "other", "shared"))
		})
		secondDone <- result{c, err}
	}()
	// Wait until a session of this database waits for a lock: the second
	// writer, on the first one's uncommitted tag.
	for {
		var n int64
		err := store.db.NewRaw(`SELECT count(*) FROM pg_catalog.pg_locks AS l
			JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
			WHERE NOT l.granted AND a.datname = current_database()`).Scan(ctx, &n)
		must(t, err, "read pg_locks")
		if n > 0 {
			break
		}
		select {
		case r := <-secondDone:
			close(release)
			t.Fatalf("the second writer finished (%+v, %v) while the first held the new tag uncommitted", r.c, r.err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	close(release)
	must(t, <-firstDone, "first writer")
	r := <-secondDone
	must(t, r.err, "second writer")
	if fmt.Sprint(r.c.Tags) != "[other shared]" {
		t.Errorf("second component's tags = %v, want [other shared]", r.c.Tags)
	}
	got, err := read(t, env, env.A, func(ctx context.Context) (domain.Component, error) { return env.Components.Get(ctx, r.c.ID) })
	if err != nil || fmt.Sprint(got.Tags) != "[other shared]" {
		t.Errorf("stored tags of the second component = %v, %v", got.Tags, err)
	}
}
