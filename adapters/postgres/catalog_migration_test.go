package postgres_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/migrations"
)

// TestCatalogMigrationUpgradesExistingTenant provisions tenants with only
// the first tenant migration (what a tenant created by the issue-2 binary
// has), then runs the fleet migrator with the full set: 0002 applies to them
// with their data intact, and the catalog works there.
func TestCatalogMigrationUpgradesExistingTenant(t *testing.T) {
	t.Parallel()
	full := referenceSchema(t)
	if len(full.Migrations) < 2 || full.Migrations[1].Version != 2 || full.Migrations[1].Name != "catalog" {
		t.Fatalf("the tenant set does not have 0002_catalog as its second migration: %+v", full.Migrations)
	}
	first, err := fs.ReadFile(migrations.Tenant(), "0001_init.sql")
	must(t, err, "read 0001")
	v1 := mustSchema(t, fstest.MapFS{"0001_init.sql": {Data: first}}, postgres.ReferenceSeed)

	db := newDB(t)
	ids := provisionN(t, db, v1, 2)
	uow := postgres.NewUnitOfWork(db)
	repos := newCatalogRepos(db)
	env := catalogEnv{catalogRepos: repos, tenantEnv: tenantEnv{UoW: uow, A: ids[0], B: ids[1], ErrNoScope: postgres.ErrNoTenantScope}}
	user := mkUser(t, env, ids[0], "before", domain.RoleAdmin)
	for _, id := range ids {
		assertAt(t, db, id, 1)
		if n := queryInt(t, db, "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = ? AND tablename = 'teams'", id.Schema()); n != 0 {
			t.Fatalf("%s has the catalog before the migration", id.Schema())
		}
	}

	results, err := postgres.NewTenantMigrator(db, full).MigrateAll(context.Background(), 2)
	must(t, err, "migrate all")
	if len(results) != len(ids) {
		t.Fatalf("%d results, want %d", len(results), len(ids))
	}
	for _, id := range ids {
		assertAt(t, db, id, 2)
		for _, table := range []string{"teams", "team_members", "components", "tags", "component_tags", "component_dependencies",
			"environments", "versions", "deployments", "deployment_current", "activity"} {
			if n := queryInt(t, db, "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = ? AND tablename = ?", id.Schema(), table); n != 1 {
				t.Errorf("%s: table %s missing after the migration", id.Schema(), table)
			}
		}
	}

	// The migrated tenant works end to end, with its existing user.
	w := mkWorld(t, env, ids[0])
	must(t, exec(t, env, ids[0], func(ctx context.Context) error { return repos.Teams.AddMember(ctx, w.Team.ID, user.ID) }), "add member")
	record(t, env, ids[0], domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID, VersionID: w.Version.ID,
		Status: domain.DeploymentSucceeded, DeployedAt: stamp(0)})
	n, err := read(t, env, ids[0], func(ctx context.Context) (int, error) {
		members, err := repos.Teams.ListMembers(ctx, w.Team.ID, domain.Page{})
		return len(members), err
	})
	if err != nil || n != 1 {
		t.Errorf("members in the migrated tenant = %d, %v", n, err)
	}

	// Nothing left to do, and a tenant created now starts at version 2.
	again, err := postgres.NewTenantMigrator(db, full).MigrateAll(context.Background(), 2)
	if err != nil || len(again) != 0 {
		t.Errorf("second run = %v, %v; want nothing to do", again, err)
	}
	fresh := provisionN(t, db, full, 1)[0]
	assertAt(t, db, fresh, 2)
}
