package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

// TestRepoInvitationRepository runs the invitation contract against
// InvitationRepository, two fresh tenants per subtest.
func TestRepoInvitationRepository(t *testing.T) {
	t.Parallel()
	store := newRepoStore(t)
	repo := postgres.NewInvitationRepository(store.db)
	testInvitationRepositoryContract(t, func(t *testing.T) (ports.InvitationRepository, tenantEnv) {
		return repo, store.tenantEnv(t)
	})
}

// testInvitationRepositoryContract checks a ports.InvitationRepository.
// newRepo returns the repository and two fresh tenants of its store.
func testInvitationRepositoryContract(t *testing.T, newRepo func(t *testing.T) (ports.InvitationRepository, tenantEnv)) {
	// Times are whole microseconds, the precision of timestamptz.
	now := time.Now().Truncate(time.Microsecond)
	newInvitation := func(token string) domain.Invitation {
		h := sha256.Sum256([]byte(token))
		return domain.Invitation{Email: "New.Hire@Example.com", Role: domain.RoleViewer, TokenHash: h[:],
			ExpiresAt: now.Add(72 * time.Hour), CreatedBy: 1}
	}
	getForUpdate := func(t *testing.T, repo ports.InvitationRepository, env tenantEnv, hash []byte) (domain.Invitation, error) {
		t.Helper()
		return inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.Invitation, error) {
			return repo.GetByTokenHashForUpdate(ctx, hash)
		})
	}

	t.Run("create and get by token hash", func(t *testing.T) {
		repo, env := newRepo(t)
		in := newInvitation("token-1")
		created, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.Invitation, error) { return repo.Create(ctx, in) })
		must(t, err, "create")
		if created.ID <= 0 || created.CreatedAt.IsZero() {
			t.Fatalf("created invitation lacks id or creation time: %+v", created)
		}
		want := in
		want.ID, want.Email, want.CreatedAt = created.ID, "new.hire@example.com", created.CreatedAt
		assertInvitation(t, "create", created, want)
		got, err := getForUpdate(t, repo, env, in.TokenHash)
		must(t, err, "get by token hash")
		assertInvitation(t, "get by token hash", got, want)
		if !got.Usable(now) {
			t.Errorf("a fresh invitation is not usable: %+v", got)
		}
	})

	t.Run("unknown token hash is not found", func(t *testing.T) {
		repo, env := newRepo(t)
		_, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.Invitation, error) {
			return repo.Create(ctx, newInvitation("known"))
		})
		must(t, err, "create")
		_, err = getForUpdate(t, repo, env, newInvitation("unknown").TokenHash)
		wantCode(t, err, domain.CodeNotFound, "get unknown hash")
		_, err = getForUpdate(t, repo, env, nil)
		wantCode(t, err, domain.CodeNotFound, "get empty hash")
	})

	t.Run("a duplicate token hash is a conflict", func(t *testing.T) {
		repo, env := newRepo(t)
		_, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.Invitation, error) {
			return repo.Create(ctx, newInvitation("same"))
		})
		must(t, err, "create")
		_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.Invitation, error) {
			return repo.Create(ctx, newInvitation("same"))
		})
		wantCode(t, err, domain.CodeConflict, "create duplicate hash")
	})

	t.Run("mark used once", func(t *testing.T) {
		repo, env := newRepo(t)
		in := newInvitation("redeem")
		created, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.Invitation, error) { return repo.Create(ctx, in) })
		must(t, err, "create")
		usedAt := now.Add(time.Minute)
		redeemed, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.Invitation, error) {
			inv, err := repo.GetByTokenHashForUpdate(ctx, in.TokenHash)
			if err != nil {
				return inv, err
			}
			return inv, repo.MarkUsed(ctx, inv.ID, usedAt)
		})
		must(t, err, "redeem")
		if redeemed.ID != created.ID {
			t.Fatalf("redeemed %d, want %d", redeemed.ID, created.ID)
		}
		got, err := getForUpdate(t, repo, env, in.TokenHash)
		must(t, err, "get after use")
		if got.UsedAt == nil || !got.UsedAt.Equal(usedAt) {
			t.Errorf("used_at = %v, want %v", got.UsedAt, usedAt)
		}
		if got.Usable(now) {
			t.Errorf("a used invitation is still usable")
		}
		_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, repo.MarkUsed(ctx, created.ID, usedAt.Add(time.Minute))
		})
		wantCode(t, err, domain.CodeConflict, "mark used twice")
		got, err = getForUpdate(t, repo, env, in.TokenHash)
		must(t, err, "get after second use")
		if got.UsedAt == nil || !got.UsedAt.Equal(usedAt) {
			t.Errorf("a refused second use changed used_at to %v, want %v", got.UsedAt, usedAt)
		}
		_, err = inTenant(t, env.UoW, env.A, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, repo.MarkUsed(ctx, 424242, usedAt)
		})
		wantCode(t, err, domain.CodeNotFound, "mark absent used")
	})

	t.Run("tenant isolation", func(t *testing.T) {
		repo, env := newRepo(t)
		in := newInvitation("only-in-a")
		created, err := inTenant(t, env.UoW, env.A, func(ctx context.Context) (domain.Invitation, error) { return repo.Create(ctx, in) })
		must(t, err, "create in A")
		_, err = inTenant(t, env.UoW, env.B, func(ctx context.Context) (domain.Invitation, error) {
			return repo.GetByTokenHashForUpdate(ctx, in.TokenHash)
		})
		wantCode(t, err, domain.CodeNotFound, "get A's token in B")
		_, err = inTenant(t, env.UoW, env.B, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, repo.MarkUsed(ctx, created.ID, now)
		})
		wantCode(t, err, domain.CodeNotFound, "mark A's invitation used in B")
		got, err := getForUpdate(t, repo, env, in.TokenHash)
		must(t, err, "get in A")
		if got.UsedAt != nil {
			t.Errorf("B's attempt marked A's invitation used")
		}
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		repo, env := newRepo(t)
		ctx := t.Context()
		_, err := repo.Create(ctx, newInvitation("x"))
		wantNoScope(t, env, err, "Create")
		_, err = repo.GetByTokenHashForUpdate(ctx, newInvitation("x").TokenHash)
		wantNoScope(t, env, err, "GetByTokenHashForUpdate")
		err = repo.MarkUsed(ctx, 1, now)
		wantNoScope(t, env, err, "MarkUsed")
	})
}

// TestRepoInvitationForUpdateLocks proves that GetByTokenHashForUpdate locks
// the row: while one unit of work holds it, a second one cannot take it.
func TestRepoInvitationForUpdateLocks(t *testing.T) {
	t.Parallel()
	store := newRepoStore(t)
	repo := postgres.NewInvitationRepository(store.db)
	id := store.newTenant(t)
	hash := sha256.Sum256([]byte("contended"))
	_, err := inTenant(t, store.uow, id, func(ctx context.Context) (domain.Invitation, error) {
		return repo.Create(ctx, domain.Invitation{Email: "x@example.com", Role: domain.RoleUser, TokenHash: hash[:],
			ExpiresAt: time.Now().Add(time.Hour), CreatedBy: 1})
	})
	must(t, err, "create")

	_, err = inTenant(t, store.uow, id, func(ctx context.Context) (struct{}, error) {
		if _, err := repo.GetByTokenHashForUpdate(ctx, hash[:]); err != nil {
			return struct{}{}, err
		}
		// A second, independent unit of work (a fresh context carries no
		// scope) on another connection, told not to wait for locks.
		_, err := inTenant(t, store.uow, id, func(ctx context.Context) (domain.Invitation, error) {
			h, _, err := postgres.TenantHandle(ctx, store.db)
			if err != nil {
				return domain.Invitation{}, err
			}
			if _, err := h.NewRaw("SET LOCAL lock_timeout = '50ms'").Exec(ctx); err != nil {
				return domain.Invitation{}, err
			}
			return repo.GetByTokenHashForUpdate(ctx, hash[:])
		})
		var pgErr pgdriver.Error
		if !errors.As(err, &pgErr) || pgErr.Field('C') != "55P03" {
			t.Errorf("second locker: got %v, want lock_not_available (55P03)", err)
		}
		return struct{}{}, nil
	})
	must(t, err, "first locker")
}

func assertInvitation(t *testing.T, what string, got, want domain.Invitation) {
	t.Helper()
	if got.ID != want.ID || got.Email != want.Email || got.Role != want.Role ||
		string(got.TokenHash) != string(want.TokenHash) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		(got.UsedAt == nil) != (want.UsedAt == nil) || (got.UsedAt != nil && !got.UsedAt.Equal(*want.UsedAt)) ||
		got.CreatedBy != want.CreatedBy || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}
