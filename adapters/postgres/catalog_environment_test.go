package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/schemata/schemata/domain"
)

// TestCatalogEnvironments runs the environment contract against the postgres
// adapter.
func TestCatalogEnvironments(t *testing.T) {
	t.Parallel()
	_, newEnv := catalogFactory(t)
	testEnvironmentRepositoryContract(t, newEnv)
}

func envID(e domain.Environment) int64 { return e.ID }

// testEnvironmentRepositoryContract checks a ports.EnvironmentRepository
// (with the deployment repository of the same store).
func testEnvironmentRepositoryContract(t *testing.T, newEnv func(t *testing.T) catalogEnv) {
	createE := func(t *testing.T, env catalogEnv, e domain.Environment) (domain.Environment, error) {
		t.Helper()
		return write(t, env, env.A, func(ctx context.Context) (domain.Environment, error) { return env.Envs.Create(ctx, e) })
	}
	getE := func(t *testing.T, env catalogEnv, id int64) (domain.Environment, error) {
		t.Helper()
		return read(t, env, env.A, func(ctx context.Context) (domain.Environment, error) { return env.Envs.Get(ctx, id) })
	}

	t.Run("create, get, update, delete", func(t *testing.T) {
		env := newEnv(t)
		in := domain.Environment{Name: "Staging EU", Category: domain.EnvStaging, CloudProviderID: seededCloud, Region: "eu-west-1"}
		e, err := createE(t, env, in)
		must(t, err, "create")
		if e.ID <= 0 || e.Name != in.Name || e.Category != in.Category || e.CloudProviderID != in.CloudProviderID ||
			e.Region != in.Region || e.CreatedAt.IsZero() || !e.UpdatedAt.Equal(e.CreatedAt) {
			t.Fatalf("created %+v", e)
		}
		got, err := getE(t, env, e.ID)
		if err != nil || got != e {
			t.Errorf("get = %+v, %v; want %+v", got, err, e)
		}
		upd := domain.Environment{ID: e.ID, Name: "Production EU", Category: domain.EnvProduction, CloudProviderID: seededCloud2, Region: ""}
		u, err := write(t, env, env.A, func(ctx context.Context) (domain.Environment, error) { return env.Envs.Update(ctx, upd) })
		must(t, err, "update")
		if u.Name != upd.Name || u.Category != upd.Category || u.CloudProviderID != upd.CloudProviderID || u.Region != "" ||
			!u.CreatedAt.Equal(e.CreatedAt) || !u.UpdatedAt.After(e.UpdatedAt) {
			t.Errorf("updated %+v (was %+v)", u, e)
		}
		got, err = getE(t, env, e.ID)
		if err != nil || got != u {
			t.Errorf("get after update = %+v, %v; want %+v", got, err, u)
		}
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Envs.Delete(ctx, e.ID) }), "delete")
		_, err = getE(t, env, e.ID)
		wantCode(t, err, domain.CodeNotFound, "get after delete")
	})

	t.Run("absent, duplicate and bad references", func(t *testing.T) {
		env := newEnv(t)
		_, err := getE(t, env, absentID)
		wantCode(t, err, domain.CodeNotFound, "get")
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Environment, error) {
			return env.Envs.Update(ctx, domain.Environment{ID: absentID, Name: "x", Category: domain.EnvTesting, CloudProviderID: seededCloud})
		})
		wantCode(t, err, domain.CodeNotFound, "update")
		wantCode(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Envs.Delete(ctx, absentID) }),
			domain.CodeNotFound, "delete")

		mkEnv(t, env, env.A, "Production")
		other := mkEnv(t, env, env.A, "Testing")
		_, err = createE(t, env, domain.Environment{Name: "PRODUCTION", Category: domain.EnvProduction, CloudProviderID: seededCloud})
		if de := wantCode(t, err, domain.CodeConflict, "duplicate in another case"); !mentions(de, `"PRODUCTION"`) {
			t.Errorf("conflict message %q does not name the environment", de.Message)
		}
		other.Name = "production"
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Environment, error) { return env.Envs.Update(ctx, other) })
		wantCode(t, err, domain.CodeConflict, "rename onto another environment")

		_, err = createE(t, env, domain.Environment{Name: "Nowhere", Category: domain.EnvTesting, CloudProviderID: absentID})
		if de := wantCode(t, err, domain.CodeInvalid, "absent cloud provider"); de.Field != "cloud_provider_id" || !mentions(de, "does not exist") {
			t.Errorf("absent cloud provider: %v", err)
		}
		_, err = createE(t, env, domain.Environment{Name: "Odd", Category: "qa", CloudProviderID: seededCloud})
		if de := wantCode(t, err, domain.CodeInvalid, "bad category"); de.Field != "category" {
			t.Errorf("bad category field %q", de.Field)
		}
	})

	t.Run("list pages in id order", func(t *testing.T) {
		env := newEnv(t)
		var all []int64
		for i := range 5 {
			all = append(all, mkEnv(t, env, env.A, fmt.Sprintf("env-%d", i)).ID)
		}
		for _, limit := range []int{1, 2, 5, 50} {
			checkKeyset(t, all, limit, func(page domain.Page) ([]int64, error) {
				es, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Environment, error) { return env.Envs.List(ctx, page) })
				return idsOf(es, envID), err
			})
		}
	})

	t.Run("an environment with deployments cannot be deleted", func(t *testing.T) {
		env := newEnv(t)
		w := mkWorld(t, env, env.A)
		for _, st := range []domain.DeploymentStatus{domain.DeploymentFailed, domain.DeploymentSucceeded} {
			e := mkEnv(t, env, env.A, "env-"+string(st))
			record(t, env, env.A, domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: e.ID, VersionID: w.Version.ID,
				Status: st, DeployedAt: stamp(1), Actor: "user:1"})
			err := exec(t, env, env.A, func(ctx context.Context) error { return env.Envs.Delete(ctx, e.ID) })
			if de := wantCode(t, err, domain.CodeConflict, "delete with a "+string(st)+" deployment"); !mentions(de, "deployments") {
				t.Errorf("conflict message %q does not say why", de.Message)
			}
			_, err = getE(t, env, e.ID)
			must(t, err, "environment still there")
		}
	})

	t.Run("tenant isolation", func(t *testing.T) {
		env := newEnv(t)
		mine := mkEnv(t, env, env.A, "mine")
		var theirs domain.Environment
		for i := range 3 {
			theirs = mkEnv(t, env, env.B, fmt.Sprintf("theirs-%d", i))
		}
		_, err := getE(t, env, theirs.ID)
		wantCode(t, err, domain.CodeNotFound, "get B's environment in A")
		upd := theirs
		upd.Name = "hijacked"
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Environment, error) { return env.Envs.Update(ctx, upd) })
		wantCode(t, err, domain.CodeNotFound, "update B's environment in A")
		wantCode(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Envs.Delete(ctx, theirs.ID) }),
			domain.CodeNotFound, "delete B's environment in A")
		got, err := read(t, env, env.B, func(ctx context.Context) (domain.Environment, error) { return env.Envs.Get(ctx, theirs.ID) })
		if err != nil || got != theirs {
			t.Errorf("B's environment after A's attempts = %+v, %v", got, err)
		}
		list, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Environment, error) { return env.Envs.List(ctx, domain.Page{}) })
		if err != nil || len(list) != 1 || list[0] != mine {
			t.Errorf("A lists %+v, %v", list, err)
		}
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		env := newEnv(t)
		ctx := t.Context()
		_, err := env.Envs.List(ctx, domain.Page{})
		wantNoScope(t, env.tenantEnv, err, "List")
		_, err = env.Envs.Get(ctx, 1)
		wantNoScope(t, env.tenantEnv, err, "Get")
		_, err = env.Envs.Create(ctx, domain.Environment{Name: "x", Category: domain.EnvTesting, CloudProviderID: 1})
		wantNoScope(t, env.tenantEnv, err, "Create")
		_, err = env.Envs.Update(ctx, domain.Environment{ID: 1, Name: "x", Category: domain.EnvTesting, CloudProviderID: 1})
		wantNoScope(t, env.tenantEnv, err, "Update")
		wantNoScope(t, env.tenantEnv, env.Envs.Delete(ctx, 1), "Delete")
	})
}

// TestCatalogReferenceDataInUse checks that reference data the catalog
// references cannot be deleted (Conflict, nothing deleted), and can once
// unreferenced.
func TestCatalogReferenceDataInUse(t *testing.T) {
	t.Parallel()
	_, newEnv := catalogFactory(t)
	env := newEnv(t)
	team := mkTeam(t, env, env.A, "T")
	c := newComponent("svc", team.ID)
	c.ServiceTypeID, c.RegistryProviderID, c.ImageRepository = seededService2, ptr(seededRegistry), "ghcr.io/acme/svc"
	comp := mkComponent(t, env, env.A, c)
	e, err := write(t, env, env.A, func(ctx context.Context) (domain.Environment, error) {
		return env.Envs.Create(ctx, domain.Environment{Name: "prod", Category: domain.EnvProduction, CloudProviderID: seededCloud2})
	})
	must(t, err, "create environment")

	for _, tc := range []struct {
		kind domain.RefKind
		id   int64
	}{
		{domain.ServiceTypes, seededService2},
		{domain.RegistryProviders, seededRegistry},
		{domain.CloudProviders, seededCloud2},
	} {
		err := exec(t, env, env.A, func(ctx context.Context) error { return env.Reference.Delete(ctx, tc.kind, tc.id) })
		wantCode(t, err, domain.CodeConflict, "delete referenced "+string(tc.kind))
		_, err = read(t, env, env.A, func(ctx context.Context) (domain.RefItem, error) { return env.Reference.Get(ctx, tc.kind, tc.id) })
		must(t, err, string(tc.kind)+" still there")
	}
	must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Components.Delete(ctx, comp.ID) }), "delete component")
	must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Envs.Delete(ctx, e.ID) }), "delete environment")
	for _, kind := range []domain.RefKind{domain.ServiceTypes, domain.RegistryProviders, domain.CloudProviders} {
		id := map[domain.RefKind]int64{domain.ServiceTypes: seededService2, domain.RegistryProviders: seededRegistry, domain.CloudProviders: seededCloud2}[kind]
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Reference.Delete(ctx, kind, id) }),
			"delete unreferenced "+string(kind))
	}
}
