package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// TestRepoUserRepository runs the user contract against UserRepository, two
// fresh tenants per subtest.
func TestRepoUserRepository(t *testing.T) {
	t.Parallel()
	store := newRepoStore(t)
	repo := postgres.NewUserRepository(store.db)
	testUserRepositoryContract(t, func(t *testing.T) (ports.UserRepository, tenantEnv) {
		return repo, store.tenantEnv(t)
	})
}

// testUserRepositoryContract checks a ports.UserRepository. newRepo returns
// the repository and two fresh tenants of its store.
func testUserRepositoryContract(t *testing.T, newRepo func(t *testing.T) (ports.UserRepository, tenantEnv)) {
	newUser := func(name, email string) domain.User {
		return domain.User{Name: name, Email: email, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Role: domain.RoleUser}
	}
	create := func(t *testing.T, repo ports.UserRepository, env tenantEnv, u domain.User) (domain.User, error) {
		t.Helper()
		return inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.User, error) { return repo.Create(ctx, u) })
	}

	t.Run("create, get and get by email", func(t *testing.T) {
		repo, env := newRepo(t)
		in := newUser("Ann Smith", "  Ann.Smith@Example.COM ")
		in.Role = domain.RoleAdmin
		got, err := create(t, repo, env, in)
		must(t, err, "create")
		if got.ID <= 0 || got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
			t.Fatalf("created user lacks id or timestamps: %+v", got)
		}
		want := in
		want.ID, want.Email, want.CreatedAt, want.UpdatedAt = got.ID, "ann.smith@example.com", got.CreatedAt, got.UpdatedAt
		assertUser(t, "create", got, want)

		byID, err := readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.User, error) { return repo.Get(ctx, got.ID) })
		must(t, err, "get")
		assertUser(t, "get", byID, want)

		for _, email := range []string{"ann.smith@example.com", "ANN.SMITH@EXAMPLE.COM", " Ann.Smith@example.com"} {
			byEmail, err := readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.User, error) { return repo.GetByEmail(ctx, email) })
			must(t, err, "get by email "+email)
			assertUser(t, "get by email "+email, byEmail, want)
		}
	})

	t.Run("duplicate email differing only in case is a conflict", func(t *testing.T) {
		repo, env := newRepo(t)
		_, err := create(t, repo, env, newUser("Bob", "bob@example.com"))
		must(t, err, "create")
		_, err = create(t, repo, env, newUser("Other Bob", "BOB@Example.com"))
		de := wantCode(t, err, domain.CodeConflict, "create duplicate")
		if de.Message != "email already registered" {
			t.Errorf("conflict message = %q, want %q", de.Message, "email already registered")
		}
		n, err := readTenant(t, env.UoW, env.A, repo.Count)
		must(t, err, "count")
		if n != 1 {
			t.Errorf("count after a refused duplicate = %d, want 1", n)
		}
	})

	t.Run("not found", func(t *testing.T) {
		repo, env := newRepo(t)
		_, err := readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.User, error) { return repo.Get(ctx, 424242) })
		wantCode(t, err, domain.CodeNotFound, "get absent id")
		_, err = readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.User, error) {
			return repo.GetByEmail(ctx, "nobody@example.com")
		})
		wantCode(t, err, domain.CodeNotFound, "get absent email")
	})

	t.Run("list pages in id order and count", func(t *testing.T) {
		repo, env := newRepo(t)
		var created []int64
		for i := range 7 {
			u, err := create(t, repo, env, newUser(fmt.Sprintf("User %d", i), fmt.Sprintf("user%d@example.com", i)))
			must(t, err, "create")
			created = append(created, u.ID)
		}
		if !sortedStrictly(created) {
			t.Fatalf("ids not increasing in creation order: %v", created)
		}
		listIDs := func(page domain.Page) ([]int64, error) {
			users, err := readTenant(t, env.UoW, env.A, func(ctx context.Context) ([]domain.User, error) { return repo.List(ctx, page) })
			ids := make([]int64, len(users))
			for i, u := range users {
				ids[i] = u.ID
			}
			return ids, err
		}
		all, err := listIDs(domain.Page{}) // default page size holds all seven
		must(t, err, "list")
		if fmt.Sprint(all) != fmt.Sprint(created) {
			t.Fatalf("list = %v, want %v", all, created)
		}
		for _, limit := range []int{1, 2, 3, 7, 8} {
			checkKeyset(t, all, limit, listIDs)
		}
		mid, err := listIDs(domain.Page{After: created[2], Limit: 2})
		must(t, err, "list after")
		if fmt.Sprint(mid) != fmt.Sprint(created[3:5]) {
			t.Errorf("page after %d limit 2 = %v, want %v", created[2], mid, created[3:5])
		}
		neg, err := listIDs(domain.Page{After: -5, Limit: -1})
		must(t, err, "list with a negative page")
		if fmt.Sprint(neg) != fmt.Sprint(created) {
			t.Errorf("negative page (clamped) = %v, want %v", neg, created)
		}
		again, err := listIDs(domain.Page{})
		must(t, err, "list again")
		if fmt.Sprint(again) != fmt.Sprint(all) {
			t.Errorf("order not stable: %v then %v", all, again)
		}
		n, err := readTenant(t, env.UoW, env.A, repo.Count)
		must(t, err, "count")
		if n != int64(len(created)) {
			t.Errorf("count = %d, want %d", n, len(created))
		}
	})

	t.Run("a rolled back unit of work leaves no user", func(t *testing.T) {
		repo, env := newRepo(t)
		errAbort := errors.New("abort")
		_, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.User, error) {
			if _, err := repo.Create(ctx, newUser("Gone", "gone@example.com")); err != nil {
				return domain.User{}, err
			}
			return domain.User{}, errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("unit of work error = %v, want %v", err, errAbort)
		}
		_, err = readTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.User, error) {
			return repo.GetByEmail(ctx, "gone@example.com")
		})
		wantCode(t, err, domain.CodeNotFound, "get a rolled back user")
	})

	t.Run("tenant isolation", func(t *testing.T) {
		repo, env := newRepo(t)
		a, err := create(t, repo, env, newUser("Alice of A", "alice@a.example"))
		must(t, err, "create in A")

		// B has no users yet: A's id, email and rows are invisible there.
		_, err = readTenant(t, env.UoW, env.B, func(ctx context.Context) (domain.User, error) { return repo.Get(ctx, a.ID) })
		wantCode(t, err, domain.CodeNotFound, "get A's user id in B")
		_, err = readTenant(t, env.UoW, env.B, func(ctx context.Context) (domain.User, error) { return repo.GetByEmail(ctx, a.Email) })
		wantCode(t, err, domain.CodeNotFound, "get A's email in B")
		listB, err := readTenant(t, env.UoW, env.B, func(ctx context.Context) ([]domain.User, error) { return repo.List(ctx, domain.Page{}) })
		must(t, err, "list B")
		if len(listB) != 0 {
			t.Errorf("B lists %d users, want none: %+v", len(listB), listB)
		}
		nB, err := readTenant(t, env.UoW, env.B, repo.Count)
		must(t, err, "count B")
		if nB != 0 {
			t.Errorf("B counts %d users, want 0", nB)
		}

		// The same email may exist in B (platform-wide uniqueness is the email
		// lookup's job), and each tenant reads back its own row.
		b, err := inTenant(t, env.UoW, env.B, func(ctx context.Context) (domain.User, error) {
			return repo.Create(ctx, newUser("Alice of B", "alice@a.example"))
		})
		must(t, err, "create in B")
		for _, tc := range []struct {
			tenant   tenancy.CompanyID
			wantName string
		}{{env.A, "Alice of A"}, {env.B, "Alice of B"}} {
			u, err := readTenant(t, env.UoW, tc.tenant, func(ctx context.Context) (domain.User, error) { return repo.GetByEmail(ctx, a.Email) })
			must(t, err, "get by email")
			if u.Name != tc.wantName {
				t.Errorf("tenant %d reads %q, want %q", tc.tenant, u.Name, tc.wantName)
			}
		}
		if b.ID == a.ID {
			u, err := readTenant(t, env.UoW, env.B, func(ctx context.Context) (domain.User, error) { return repo.Get(ctx, a.ID) })
			must(t, err, "get shared id in B")
			if u.Name != "Alice of B" {
				t.Errorf("id %d in B reads %q, want B's own user", a.ID, u.Name)
			}
		}
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		repo, env := newRepo(t)
		ctx := t.Context()
		_, err := repo.Create(ctx, newUser("X", "x@example.com"))
		wantNoScope(t, env, err, "Create")
		_, err = repo.Get(ctx, 1)
		wantNoScope(t, env, err, "Get")
		_, err = repo.GetByEmail(ctx, "x@example.com")
		wantNoScope(t, env, err, "GetByEmail")
		_, err = repo.List(ctx, domain.Page{})
		wantNoScope(t, env, err, "List")
		_, err = repo.Count(ctx)
		wantNoScope(t, env, err, "Count")
	})
}

func assertUser(t *testing.T, what string, got, want domain.User) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Email != want.Email ||
		got.PasswordHash != want.PasswordHash || got.Role != want.Role ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}
