package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// companyStore is what CompanyRepository provides: the port and the tenant
// directory's source.
type companyStore interface {
	ports.CompanyRepository
	tenancy.DirectorySource
}

// companyEnv is a company store with no companies yet, ways to add and
// delete companies, and the unit of work of the store.
type companyEnv struct {
	Repo       companyStore
	UoW        ports.UnitOfWork
	NewCompany func(t *testing.T) domain.Company
	Delete     func(t *testing.T, id tenancy.CompanyID)
}

// TestRepoCompanyRepository runs the company contract against
// CompanyRepository, each subtest on a fresh database.
func TestRepoCompanyRepository(t *testing.T) {
	t.Parallel()
	testCompanyRepositoryContract(t, func(t *testing.T) companyEnv {
		store := newRepoStore(t)
		return companyEnv{
			Repo:       postgres.NewCompanyRepository(store.db),
			UoW:        store.uow,
			NewCompany: func(t *testing.T) domain.Company { return store.newCompany(t) },
			Delete: func(t *testing.T, id tenancy.CompanyID) {
				must(t, store.prov.Delete(t.Context(), id, nil), "delete company")
			},
		}
	})
}

// testCompanyRepositoryContract checks a ports.CompanyRepository that is also
// a tenancy.DirectorySource. newEnv returns an empty store.
func testCompanyRepositoryContract(t *testing.T, newEnv func(t *testing.T) companyEnv) {
	t.Run("get", func(t *testing.T) {
		env := newEnv(t)
		c := env.NewCompany(t)
		got, err := env.Repo.Get(t.Context(), tenancy.CompanyID(c.ID))
		must(t, err, "get")
		if got.ID != c.ID || got.Name != c.Name || !got.CreatedAt.Equal(c.CreatedAt) {
			t.Errorf("get = %+v, want %+v", got, c)
		}
	})

	t.Run("absent and invalid ids are not found", func(t *testing.T) {
		env := newEnv(t)
		env.NewCompany(t)
		for _, id := range []tenancy.CompanyID{424242, 0, -1} {
			_, err := env.Repo.Get(t.Context(), id)
			wantCode(t, err, domain.CodeNotFound, fmt.Sprintf("get company %d", id))
		}
	})

	t.Run("list pages in id order", func(t *testing.T) {
		env := newEnv(t)
		var created []int64
		for range 4 {
			created = append(created, env.NewCompany(t).ID)
		}
		listIDs := func(page domain.Page) ([]int64, error) {
			cs, err := env.Repo.List(t.Context(), page)
			ids := make([]int64, len(cs))
			for i, c := range cs {
				ids[i] = c.ID
			}
			return ids, err
		}
		all, err := listIDs(domain.Page{})
		must(t, err, "list")
		if fmt.Sprint(all) != fmt.Sprint(created) {
			t.Fatalf("list = %v, want %v", all, created)
		}
		for _, limit := range []int{1, 3, 4, 5} {
			checkKeyset(t, all, limit, listIDs)
		}
	})

	t.Run("company exists", func(t *testing.T) {
		env := newEnv(t)
		c := env.NewCompany(t)
		id := tenancy.CompanyID(c.ID)
		for _, tc := range []struct {
			id   tenancy.CompanyID
			want bool
		}{{id, true}, {id + 1000, false}, {0, false}, {-1, false}} {
			got, err := env.Repo.CompanyExists(t.Context(), tc.id)
			must(t, err, "exists")
			if got != tc.want {
				t.Errorf("CompanyExists(%d) = %v, want %v", tc.id, got, tc.want)
			}
		}
		env.Delete(t, id)
		got, err := env.Repo.CompanyExists(t.Context(), id)
		must(t, err, "exists after delete")
		if got {
			t.Errorf("a deleted company still exists")
		}
		_, err = env.Repo.Get(t.Context(), id)
		wantCode(t, err, domain.CodeNotFound, "get a deleted company")
	})

	t.Run("reads inside a tenant scope", func(t *testing.T) {
		env := newEnv(t)
		c := env.NewCompany(t)
		id := tenancy.CompanyID(c.ID)
		check := func(ctx context.Context) error {
			got, err := env.Repo.Get(ctx, id)
			if err != nil {
				return err
			}
			list, err := env.Repo.List(ctx, domain.Page{})
			if err != nil {
				return err
			}
			exists, err := env.Repo.CompanyExists(ctx, id)
			if err != nil {
				return err
			}
			if got.ID != c.ID || len(list) != 1 || list[0].ID != c.ID || !exists {
				t.Errorf("in scope: get %+v, list %+v, exists %v", got, list, exists)
			}
			return nil
		}
		must(t, env.UoW.ReadTenant(t.Context(), id, check), "in ReadTenant")
		must(t, env.UoW.WithinTenant(t.Context(), id, check), "in WithinTenant")
	})
}
