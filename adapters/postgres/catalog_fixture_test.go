package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// This file holds what the catalog contract suites share: the repositories
// under test as ports, a two-tenant environment, and fixture builders.

// catalogRepos are the catalog ports of one implementation.
type catalogRepos struct {
	Users       ports.UserRepository
	UserAdmin   ports.UserAdmin
	Teams       ports.TeamRepository
	Components  ports.ComponentRepository
	Tags        ports.TagRepository
	Envs        ports.EnvironmentRepository
	Versions    ports.VersionRepository
	Deployments ports.DeploymentRepository
	Activity    ports.ActivityLog
	Reference   ports.ReferenceRepository
}

// catalogEnv is one implementation's catalog repositories with two fresh
// tenants (A and B) of its store.
type catalogEnv struct {
	catalogRepos
	tenantEnv
}

// newCatalogRepos returns the postgres adapter's catalog repositories over db.
func newCatalogRepos(db *bun.DB) catalogRepos {
	return catalogRepos{
		Users:       postgres.NewUserRepository(db),
		UserAdmin:   postgres.NewUserAdmin(db),
		Teams:       postgres.NewTeamRepository(db),
		Components:  postgres.NewComponentRepository(db),
		Tags:        postgres.NewTagRepository(db),
		Envs:        postgres.NewEnvironmentRepository(db),
		Versions:    postgres.NewVersionRepository(db),
		Deployments: postgres.NewDeploymentRepository(db),
		Activity:    postgres.NewActivityLog(db),
		Reference:   postgres.NewReferenceRepository(db),
	}
}

// catalogFactory returns a factory of catalog environments over one fresh
// database: every call provisions two new tenants in it.
func catalogFactory(t *testing.T) (*repoStore, func(t *testing.T) catalogEnv) {
	t.Helper()
	store := newRepoStore(t)
	repos := newCatalogRepos(store.db)
	return store, func(t *testing.T) catalogEnv {
		t.Helper()
		return catalogEnv{catalogRepos: repos, tenantEnv: store.tenantEnv(t)}
	}
}

// Seeded reference data: ids 1..n in domain.DefaultReferenceData order.
const (
	seededCloud    int64 = 1 // AWS
	seededCloud2   int64 = 2 // Azure
	seededRegistry int64 = 1 // DockerHub
	seededService  int64 = 1 // API
	seededService2 int64 = 2 // Worker
	absentID       int64 = 987654
)

// write runs fn in a committed unit of work of tenant id.
func write[T any](t *testing.T, env catalogEnv, id tenancy.CompanyID, fn func(ctx context.Context) (T, error)) (T, error) {
	t.Helper()
	return inTenant(t, env.UoW, id, fn)
}

// read runs fn in a read scope of tenant id.
func read[T any](t *testing.T, env catalogEnv, id tenancy.CompanyID, fn func(ctx context.Context) (T, error)) (T, error) {
	t.Helper()
	return readTenant(t, env.UoW, id, fn)
}

// exec runs fn, which returns only an error, in a committed unit of work.
func exec(t *testing.T, env catalogEnv, id tenancy.CompanyID, fn func(ctx context.Context) error) error {
	t.Helper()
	return env.UoW.WithinTenant(t.Context(), id, fn)
}

func mkUser(t *testing.T, env catalogEnv, id tenancy.CompanyID, name string, role domain.Role) domain.User {
	t.Helper()
	u, err := write(t, env, id, func(ctx context.Context) (domain.User, error) {
		return env.Users.Create(ctx, domain.User{Name: name, Email: name + "@example.com",
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Role: role})
	})
	must(t, err, "create user "+name)
	return u
}

func mkTeam(t *testing.T, env catalogEnv, id tenancy.CompanyID, name string) domain.Team {
	t.Helper()
	tm, err := write(t, env, id, func(ctx context.Context) (domain.Team, error) {
		return env.Teams.Create(ctx, domain.Team{Name: name, Description: "team " + name})
	})
	must(t, err, "create team "+name)
	return tm
}

// newComponent is a valid component owned by team, tags sorted.
func newComponent(name string, team int64, tags ...string) domain.Component {
	if tags == nil {
		tags = []string{}
	}
	return domain.Component{Name: name, ServiceTypeID: seededService, TeamID: team,
		Lifecycle: domain.LifecycleExperimental, Tags: tags}
}

func mkComponent(t *testing.T, env catalogEnv, id tenancy.CompanyID, c domain.Component) domain.Component {
	t.Helper()
	got, err := write(t, env, id, func(ctx context.Context) (domain.Component, error) {
		return env.Components.Create(ctx, c)
	})
	must(t, err, "create component "+c.Name)
	return got
}

func mkEnv(t *testing.T, env catalogEnv, id tenancy.CompanyID, name string) domain.Environment {
	t.Helper()
	e, err := write(t, env, id, func(ctx context.Context) (domain.Environment, error) {
		return env.Envs.Create(ctx, domain.Environment{Name: name, Category: domain.EnvProduction,
			CloudProviderID: seededCloud, Region: "eu-west-1"})
	})
	must(t, err, "create environment "+name)
	return e
}

func mkVersion(t *testing.T, env catalogEnv, id tenancy.CompanyID, component int64, version string) domain.Version {
	t.Helper()
	v, err := write(t, env, id, func(ctx context.Context) (domain.Version, error) {
		return env.Versions.Create(ctx, domain.Version{ComponentID: component, Version: version})
	})
	must(t, err, "create version "+version)
	return v
}

func record(t *testing.T, env catalogEnv, id tenancy.CompanyID, d domain.Deployment) domain.Deployment {
	t.Helper()
	got, err := write(t, env, id, func(ctx context.Context) (domain.Deployment, error) {
		return env.Deployments.Record(ctx, d)
	})
	must(t, err, "record deployment")
	return got
}

// catalogWorld is a small catalog in one tenant: a team owning a component
// with a version, and an environment.
type catalogWorld struct {
	Team      domain.Team
	Component domain.Component
	Version   domain.Version
	Env       domain.Environment
}

func mkWorld(t *testing.T, env catalogEnv, id tenancy.CompanyID) catalogWorld {
	t.Helper()
	var w catalogWorld
	w.Team = mkTeam(t, env, id, "platform")
	w.Component = mkComponent(t, env, id, newComponent("payments", w.Team.ID, "tier:gold"))
	w.Version = mkVersion(t, env, id, w.Component.ID, "1.0.0")
	w.Env = mkEnv(t, env, id, "production")
	return w
}

// stamp is a fixed instant plus n minutes, in UTC at microsecond precision (what
// PostgreSQL stores).
func stamp(n int) time.Time {
	return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
}

// idsOf returns the ids of xs, in order.
func idsOf[T any](xs []T, id func(T) int64) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

// pageThrough pages through list with limit until a page is empty and
// returns everything seen; it fails when a page is longer than limit or the
// paging does not end within max pages.
func pageThrough[T any](t *testing.T, limit, max int, id func(T) int64, list func(page domain.Page) ([]T, error)) []T {
	t.Helper()
	var all []T
	after := int64(0)
	for pages := 0; ; pages++ {
		if pages > max {
			t.Fatalf("paging with limit %d does not end after %d pages", limit, max)
		}
		items, err := list(domain.Page{After: after, Limit: limit})
		must(t, err, fmt.Sprintf("page after %d", after))
		if len(items) > limit {
			t.Fatalf("page after %d has %d items, limit %d", after, len(items), limit)
		}
		if len(items) == 0 {
			return all
		}
		all = append(all, items...)
		after = id(items[len(items)-1])
	}
}

// tenantCount counts rows of a tenant table, outside any scope (test only:
// the table is a constant of the caller).
func tenantCount(t *testing.T, db *bun.DB, id tenancy.CompanyID, table string) int64 {
	t.Helper()
	return queryInt(t, db, "SELECT count(*) FROM ?.?", bun.Ident(id.Schema()), bun.Ident(table))
}
