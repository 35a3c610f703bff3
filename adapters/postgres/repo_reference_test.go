package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// TestRepoReferenceRepository runs the reference data contract against
// ReferenceRepository, two fresh tenants per subtest.
func TestRepoReferenceRepository(t *testing.T) {
	t.Parallel()
	store := newRepoStore(t)
	repo := postgres.NewReferenceRepository(store.db)
	testReferenceRepositoryContract(t, func(t *testing.T) (ports.ReferenceRepository, tenantEnv) {
		return repo, store.tenantEnv(t)
	})
}

// testReferenceRepositoryContract checks a ports.ReferenceRepository. newRepo
// returns the repository and two fresh tenants of its store.
func testReferenceRepositoryContract(t *testing.T, newRepo func(t *testing.T) (ports.ReferenceRepository, tenantEnv)) {
	listAll := func(t *testing.T, repo ports.ReferenceRepository, uow ports.UnitOfWork, id tenancy.CompanyID, kind domain.RefKind) []domain.RefItem {
		t.Helper()
		items, err := readTenant(t, uow, id, func(ctx context.Context) ([]domain.RefItem, error) {
			return repo.List(ctx, kind, domain.Page{Limit: domain.MaxPageSize})
		})
		must(t, err, "list "+string(kind))
		return items
	}

	t.Run("create, get, update and delete every kind", func(t *testing.T) {
		repo, env := newRepo(t)
		for _, kind := range domain.RefKinds {
			created, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Create(ctx, kind, domain.RefItem{Name: "Contract " + string(kind), Description: "first"})
			})
			must(t, err, "create "+string(kind))
			if created.ID <= 0 || created.Name != "Contract "+string(kind) || created.Description != "first" ||
				created.CreatedAt.IsZero() || created.UpdatedAt.IsZero() {
				t.Fatalf("%s: created %+v", kind, created)
			}
			got, err := readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) { return repo.Get(ctx, kind, created.ID) })
			must(t, err, "get "+string(kind))
			assertRefItem(t, string(kind)+" get", got, created)
			if !slices.ContainsFunc(listAll(t, repo, env.UoW, env.A, kind), func(it domain.RefItem) bool { return it.ID == created.ID }) {
				t.Errorf("%s: list lacks the created item %d", kind, created.ID)
			}

			updated, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Update(ctx, kind, domain.RefItem{ID: created.ID, Name: "Renamed " + string(kind), Description: "second"})
			})
			must(t, err, "update "+string(kind))
			if updated.ID != created.ID || updated.Name != "Renamed "+string(kind) || updated.Description != "second" ||
				!updated.CreatedAt.Equal(created.CreatedAt) || updated.UpdatedAt.Before(created.UpdatedAt) {
				t.Errorf("%s: updated %+v from %+v", kind, updated, created)
			}
			got, err = readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) { return repo.Get(ctx, kind, created.ID) })
			must(t, err, "get updated "+string(kind))
			assertRefItem(t, string(kind)+" get after update", got, updated)

			_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, repo.Delete(ctx, kind, created.ID)
			})
			must(t, err, "delete "+string(kind))
			_, err = readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) { return repo.Get(ctx, kind, created.ID) })
			wantCode(t, err, domain.CodeNotFound, "get deleted "+string(kind))
		}
	})

	t.Run("absent items are not found", func(t *testing.T) {
		repo, env := newRepo(t)
		for _, kind := range domain.RefKinds {
			_, err := readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) { return repo.Get(ctx, kind, 424242) })
			if de := wantCode(t, err, domain.CodeNotFound, "get absent "+string(kind)); !strings.Contains(de.Message, kind.Singular()) {
				t.Errorf("not-found message %q does not name the %s", de.Message, kind.Singular())
			}
			_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Update(ctx, kind, domain.RefItem{ID: 424242, Name: "Nope"})
			})
			wantCode(t, err, domain.CodeNotFound, "update absent "+string(kind))
			_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, repo.Delete(ctx, kind, 424242)
			})
			wantCode(t, err, domain.CodeNotFound, "delete absent "+string(kind))
		}
	})

	t.Run("a duplicate name differing only in case is a conflict naming the kind", func(t *testing.T) {
		repo, env := newRepo(t)
		for _, kind := range domain.RefKinds {
			_, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Create(ctx, kind, domain.RefItem{Name: "Nomad"})
			})
			must(t, err, "create "+string(kind))
			other, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Create(ctx, kind, domain.RefItem{Name: "Consul"})
			})
			must(t, err, "create second "+string(kind))

			_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Create(ctx, kind, domain.RefItem{Name: "NOMAD"})
			})
			if !mentions(wantCode(t, err, domain.CodeConflict, "create duplicate "+string(kind)), kind.Singular()) {
				t.Errorf("%s: conflict %v does not name the kind", kind, err)
			}
			_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Update(ctx, kind, domain.RefItem{ID: other.ID, Name: "nomad"})
			})
			if !mentions(wantCode(t, err, domain.CodeConflict, "rename onto a duplicate "+string(kind)), kind.Singular()) {
				t.Errorf("%s: conflict %v does not name the kind", kind, err)
			}
			got, err := readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) { return repo.Get(ctx, kind, other.ID) })
			must(t, err, "get")
			if got.Name != "Consul" {
				t.Errorf("%s: a refused rename changed the name to %q", kind, got.Name)
			}
			// The same name in another kind, or another tenant, is no conflict.
			_, err = inTenant(t, env.UoW, env.B, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Create(ctx, kind, domain.RefItem{Name: "nomad"})
			})
			must(t, err, "create the name in another tenant")
		}
	})

	t.Run("an unknown kind is invalid", func(t *testing.T) {
		repo, env := newRepo(t)
		for _, kind := range []domain.RefKind{"", "users", "Service_Types", "service_types; DROP TABLE users", `public"."companies`, "pg_catalog.pg_authid"} {
			_, err := readTenant(t, env.UoW, env.A, func(ctx context.Context) ([]domain.RefItem, error) {
				return repo.List(ctx, kind, domain.Page{})
			})
			wantCode(t, err, domain.CodeInvalid, fmt.Sprintf("list kind %q", kind))
			_, err = readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) { return repo.Get(ctx, kind, 1) })
			wantCode(t, err, domain.CodeInvalid, fmt.Sprintf("get kind %q", kind))
			_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Create(ctx, kind, domain.RefItem{Name: "X"})
			})
			wantCode(t, err, domain.CodeInvalid, fmt.Sprintf("create kind %q", kind))
			_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Update(ctx, kind, domain.RefItem{ID: 1, Name: "X"})
			})
			wantCode(t, err, domain.CodeInvalid, fmt.Sprintf("update kind %q", kind))
			_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, repo.Delete(ctx, kind, 1)
			})
			wantCode(t, err, domain.CodeInvalid, fmt.Sprintf("delete kind %q", kind))
		}
	})

	t.Run("list pages in id order", func(t *testing.T) {
		repo, env := newRepo(t)
		kind := domain.ServiceTypes
		var created []int64
		for i := range 5 {
			it, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
				return repo.Create(ctx, kind, domain.RefItem{Name: fmt.Sprintf("Paged %d", i)})
			})
			must(t, err, "create")
			created = append(created, it.ID)
		}
		items := listAll(t, repo, env.UoW, env.A, kind)
		all := make([]int64, len(items))
		for i, it := range items {
			all[i] = it.ID
		}
		if !sortedStrictly(all) {
			t.Fatalf("list not in id order: %v", all)
		}
		if len(all) < len(created) || fmt.Sprint(all[len(all)-len(created):]) != fmt.Sprint(created) {
			t.Fatalf("list %v does not end with the created items %v", all, created)
		}
		listIDs := func(page domain.Page) ([]int64, error) {
			items, err := readTenant(t, env.UoW, env.A, func(ctx context.Context) ([]domain.RefItem, error) {
				return repo.List(ctx, kind, page)
			})
			ids := make([]int64, len(items))
			for i, it := range items {
				ids[i] = it.ID
			}
			return ids, err
		}
		for _, limit := range []int{1, 2, 4, len(all), len(all) + 1} {
			checkKeyset(t, all, limit, listIDs)
		}
		tail, err := listIDs(domain.Page{After: created[1], Limit: 2})
		must(t, err, "list after")
		if fmt.Sprint(tail) != fmt.Sprint(created[2:4]) {
			t.Errorf("page after %d limit 2 = %v, want %v", created[1], tail, created[2:4])
		}
	})

	t.Run("tenant isolation", func(t *testing.T) {
		repo, env := newRepo(t)
		kind := domain.CloudProviders
		before := listAll(t, repo, env.UoW, env.B, kind)
		a, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
			return repo.Create(ctx, kind, domain.RefItem{Name: "Only in A"})
		})
		must(t, err, "create in A")

		// B started in A's state, so A's new id does not exist in B.
		_, err = readTenant(t, env.UoW, env.B, func(ctx context.Context) (domain.RefItem, error) { return repo.Get(ctx, kind, a.ID) })
		wantCode(t, err, domain.CodeNotFound, "get A's item in B")
		_, err = inTenant(t, env.UoW, env.B, func(ctx context.Context) (domain.RefItem, error) {
			return repo.Update(ctx, kind, domain.RefItem{ID: a.ID, Name: "Hijacked"})
		})
		wantCode(t, err, domain.CodeNotFound, "update A's item in B")
		_, err = inTenant(t, env.UoW, env.B, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, repo.Delete(ctx, kind, a.ID)
		})
		wantCode(t, err, domain.CodeNotFound, "delete A's item in B")
		after := listAll(t, repo, env.UoW, env.B, kind)
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("B's list changed when A created an item:\nbefore %+v\nafter  %+v", before, after)
		}
		got, err := readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) { return repo.Get(ctx, kind, a.ID) })
		must(t, err, "get in A")
		assertRefItem(t, "A's item after B's attempts", got, a)

		// A shared id (the first seeded row of both) reads each tenant's own row.
		if len(before) == 0 {
			return
		}
		shared := before[0].ID
		_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.RefItem, error) {
			return repo.Update(ctx, kind, domain.RefItem{ID: shared, Name: "Renamed in A"})
		})
		must(t, err, "rename in A")
		gotB, err := readTenant(t, env.UoW, env.B, func(ctx context.Context) (domain.RefItem, error) { return repo.Get(ctx, kind, shared) })
		must(t, err, "get shared id in B")
		if gotB.Name != before[0].Name {
			t.Errorf("B's item %d reads %q after A renamed its own, want %q", shared, gotB.Name, before[0].Name)
		}
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		repo, env := newRepo(t)
		ctx := t.Context()
		_, err := repo.List(ctx, domain.ServiceTypes, domain.Page{})
		wantNoScope(t, env, err, "List")
		_, err = repo.Get(ctx, domain.ServiceTypes, 1)
		wantNoScope(t, env, err, "Get")
		_, err = repo.Create(ctx, domain.ServiceTypes, domain.RefItem{Name: "X"})
		wantNoScope(t, env, err, "Create")
		_, err = repo.Update(ctx, domain.ServiceTypes, domain.RefItem{ID: 1, Name: "X"})
		wantNoScope(t, env, err, "Update")
		err = repo.Delete(ctx, domain.ServiceTypes, 1)
		wantNoScope(t, env, err, "Delete")
	})
}

// TestRepoReferencePostgres covers what the contract cannot see: the seed as
// stored, updated_at stamping, and deleting a referenced row.
func TestRepoReferencePostgres(t *testing.T) {
	t.Parallel()
	store := newRepoStore(t)
	repo := postgres.NewReferenceRepository(store.db)
	id := store.newTenant(t)

	t.Run("the seed is listed in id order", func(t *testing.T) {
		for _, kind := range domain.RefKinds {
			items, err := readTenant(t, store.uow, id, func(ctx context.Context) ([]domain.RefItem, error) {
				return repo.List(ctx, kind, domain.Page{})
			})
			must(t, err, "list "+string(kind))
			var names []string
			for i, it := range items {
				names = append(names, it.Name)
				if it.ID != int64(i+1) {
					t.Errorf("%s: item %d has id %d, want %d", kind, i, it.ID, i+1)
				}
			}
			if fmt.Sprint(names) != fmt.Sprint(domain.DefaultReferenceData[kind]) {
				t.Errorf("%s: names %v, want %v", kind, names, domain.DefaultReferenceData[kind])
			}
		}
	})

	t.Run("update stamps updated_at with the time of the update", func(t *testing.T) {
		_, err := inTenant(t, store.uow, id, func(ctx context.Context) (struct{}, error) {
			h, _, err := postgres.TenantHandle(ctx, store.db)
			if err != nil {
				return struct{}{}, err
			}
			_, err = h.NewRaw("UPDATE service_types SET updated_at = '2001-01-01T00:00:00Z' WHERE id = 2").Exec(ctx)
			return struct{}{}, err
		})
		must(t, err, "backdate")
		before, err := readTenant(t, store.uow, id, func(ctx context.Context) (domain.RefItem, error) {
			return repo.Get(ctx, domain.ServiceTypes, 2)
		})
		must(t, err, "get")
		updated, err := inTenant(t, store.uow, id, func(ctx context.Context) (domain.RefItem, error) {
			return repo.Update(ctx, domain.ServiceTypes, domain.RefItem{ID: 2, Name: before.Name, Description: "now described"})
		})
		must(t, err, "update")
		if !updated.UpdatedAt.After(before.UpdatedAt) || !updated.CreatedAt.Equal(before.CreatedAt) {
			t.Errorf("update kept updated_at %v (was %v) or changed created_at %v → %v",
				updated.UpdatedAt, before.UpdatedAt, before.CreatedAt, updated.CreatedAt)
		}
	})

	t.Run("deleting a referenced row is a conflict and deletes nothing", func(t *testing.T) {
		// Later migrations add tables that reference reference data; this
		// stands in for them.
		_, err := inTenant(t, store.uow, id, func(ctx context.Context) (struct{}, error) {
			h, _, err := postgres.TenantHandle(ctx, store.db)
			if err != nil {
				return struct{}{}, err
			}
			_, err = h.NewRaw(`CREATE TABLE uses_service_type (
				id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
				service_type_id bigint NOT NULL REFERENCES service_types (id));
				INSERT INTO uses_service_type (service_type_id) VALUES (1)`).Exec(ctx)
			return struct{}{}, err
		})
		must(t, err, "create a referencing table")
		_, err = inTenant(t, store.uow, id, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, repo.Delete(ctx, domain.ServiceTypes, 1)
		})
		if !mentions(wantCode(t, err, domain.CodeConflict, "delete a referenced service type"), "in use") {
			t.Errorf("conflict %v does not say the item is in use", err)
		}
		_, err = readTenant(t, store.uow, id, func(ctx context.Context) (domain.RefItem, error) {
			return repo.Get(ctx, domain.ServiceTypes, 1)
		})
		must(t, err, "the referenced item still exists")
	})
}

func assertRefItem(t *testing.T, what string, got, want domain.RefItem) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Description != want.Description ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}
