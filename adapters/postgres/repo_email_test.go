package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// TestRepoEmailLookup runs the email lookup contract against EmailLookup,
// plus the foreign key to public.companies.
func TestRepoEmailLookup(t *testing.T) {
	t.Parallel()
	store := newRepoStore(t)
	lookup := postgres.NewEmailLookup(store.db)
	testEmailLookupContract(t, func(t *testing.T) (ports.EmailLookup, tenantEnv) {
		return lookup, store.tenantEnv(t)
	})

	t.Run("claiming for an unknown company is not found", func(t *testing.T) {
		err := lookup.Claim(t.Context(), "ghost@example.com", 424242)
		wantCode(t, err, domain.CodeNotFound, "claim for an absent company")
		err = lookup.Claim(t.Context(), "ghost@example.com", 0)
		wantCode(t, err, domain.CodeNotFound, "claim for company 0")
	})
}

// testEmailLookupContract checks a ports.EmailLookup. newLookup returns the
// lookup and two companies of its store (the lookup is not tenant-scoped; the
// unit of work is there to check that claims join it).
func testEmailLookupContract(t *testing.T, newLookup func(t *testing.T) (ports.EmailLookup, tenantEnv)) {
	find := func(t *testing.T, l ports.EmailLookup, email string) (tenancy.CompanyID, error) {
		t.Helper()
		return l.Find(t.Context(), email)
	}

	t.Run("claim and find, case-insensitively", func(t *testing.T) {
		l, env := newLookup(t)
		must(t, l.Claim(t.Context(), "Ann@Example.com", env.A), "claim")
		for _, email := range []string{"ann@example.com", "ANN@EXAMPLE.COM", " Ann@Example.com "} {
			got, err := find(t, l, email)
			must(t, err, "find "+email)
			if got != env.A {
				t.Errorf("find %q = %d, want %d", email, got, env.A)
			}
		}
	})

	t.Run("a claimed email differing only in case is a conflict in every company", func(t *testing.T) {
		l, env := newLookup(t)
		must(t, l.Claim(t.Context(), "bob@example.com", env.A), "claim")
		wantCode(t, l.Claim(t.Context(), "BOB@example.com", env.A), domain.CodeConflict, "claim again in A")
		wantCode(t, l.Claim(t.Context(), "Bob@Example.COM", env.B), domain.CodeConflict, "claim again in B")
		got, err := find(t, l, "bob@example.com")
		must(t, err, "find")
		if got != env.A {
			t.Errorf("a refused claim moved the email to %d, want %d", got, env.A)
		}
	})

	t.Run("an unknown email is not found", func(t *testing.T) {
		l, _ := newLookup(t)
		_, err := find(t, l, "nobody@example.com")
		wantCode(t, err, domain.CodeNotFound, "find unknown")
	})

	t.Run("release frees the email and is idempotent", func(t *testing.T) {
		l, env := newLookup(t)
		must(t, l.Claim(t.Context(), "carol@example.com", env.A), "claim")
		must(t, l.Release(t.Context(), "CAROL@example.com"), "release")
		_, err := find(t, l, "carol@example.com")
		wantCode(t, err, domain.CodeNotFound, "find released")
		must(t, l.Release(t.Context(), "carol@example.com"), "release again")
		must(t, l.Claim(t.Context(), "carol@example.com", env.B), "claim in B after release")
		got, err := find(t, l, "carol@example.com")
		must(t, err, "find after reclaim")
		if got != env.B {
			t.Errorf("find = %d, want %d", got, env.B)
		}
	})

	t.Run("claims join the unit of work", func(t *testing.T) {
		l, env := newLookup(t)
		errAbort := errors.New("abort")
		err := env.UoW.WithinTenant(t.Context(), env.A, func(ctx context.Context) error {
			if err := l.Claim(ctx, "rolled.back@example.com", env.A); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("unit of work error = %v, want %v", err, errAbort)
		}
		_, err = find(t, l, "rolled.back@example.com")
		wantCode(t, err, domain.CodeNotFound, "find a claim rolled back with its unit of work")

		err = env.UoW.WithinTenant(t.Context(), env.A, func(ctx context.Context) error {
			return l.Claim(ctx, "committed@example.com", env.A)
		})
		must(t, err, "claim in a committed unit of work")
		got, err := find(t, l, "committed@example.com")
		must(t, err, "find committed")
		if got != env.A {
			t.Errorf("find = %d, want %d", got, env.A)
		}
	})
}
