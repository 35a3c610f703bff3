package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
)

// TestCatalogUserAdmin runs the UserAdmin contract against the postgres
// adapter.
func TestCatalogUserAdmin(t *testing.T) {
	t.Parallel()
	_, newEnv := catalogFactory(t)
	testUserAdminContract(t, newEnv)
}

// testUserAdminContract checks a ports.UserAdmin (with the user and team
// repositories of the same store).
func testUserAdminContract(t *testing.T, newEnv func(t *testing.T) catalogEnv) {
	t.Run("update saves name, role and password hash only", func(t *testing.T) {
		env := newEnv(t)
		u := mkUser(t, env, env.A, "ann", domain.RoleUser)
		in := u
		in.Name, in.Role, in.PasswordHash = "Ann Smith", domain.RoleAdmin, "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3"
		in.Email = "changed@example.com" // not saved
		got, err := write(t, env, env.A, func(ctx context.Context) (domain.User, error) { return env.UserAdmin.Update(ctx, in) })
		must(t, err, "update")
		if got.Name != in.Name || got.Role != in.Role || got.PasswordHash != in.PasswordHash || got.Email != u.Email ||
			!got.CreatedAt.Equal(u.CreatedAt) || !got.UpdatedAt.After(u.UpdatedAt) {
			t.Errorf("updated user %+v (was %+v)", got, u)
		}
		stored, err := read(t, env, env.A, func(ctx context.Context) (domain.User, error) { return env.Users.Get(ctx, u.ID) })
		must(t, err, "get")
		if stored != got {
			t.Errorf("stored %+v, update returned %+v", stored, got)
		}
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.User, error) {
			return env.UserAdmin.Update(ctx, domain.User{ID: absentID, Name: "x", Role: domain.RoleUser, PasswordHash: "x"})
		})
		wantCode(t, err, domain.CodeNotFound, "update an absent user")
		bad := got
		bad.Role = "root"
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.User, error) { return env.UserAdmin.Update(ctx, bad) })
		wantCode(t, err, domain.CodeInvalid, "update to an unknown role")
	})

	t.Run("delete removes the user and its memberships", func(t *testing.T) {
		env := newEnv(t)
		u := mkUser(t, env, env.A, "leaver", domain.RoleUser)
		stay := mkUser(t, env, env.A, "stayer", domain.RoleUser)
		team := mkTeam(t, env, env.A, "Team")
		for _, id := range []int64{u.ID, stay.ID} {
			must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.AddMember(ctx, team.ID, id) }), "add member")
		}
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.UserAdmin.Delete(ctx, u.ID) }), "delete")
		_, err := read(t, env, env.A, func(ctx context.Context) (domain.User, error) { return env.Users.Get(ctx, u.ID) })
		wantCode(t, err, domain.CodeNotFound, "get a deleted user")
		members, err := read(t, env, env.A, func(ctx context.Context) ([]domain.User, error) {
			return env.Teams.ListMembers(ctx, team.ID, domain.Page{})
		})
		must(t, err, "list members")
		if len(members) != 1 || members[0].ID != stay.ID {
			t.Errorf("members after deleting a user = %v, want only %d", idsOf(members, userID), stay.ID)
		}
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.UserAdmin.Delete(ctx, u.ID) })
		wantCode(t, err, domain.CodeNotFound, "delete again")
	})

	t.Run("lock admins returns the admins", func(t *testing.T) {
		env := newEnv(t)
		var admins []int64
		for i := range 3 {
			admins = append(admins, mkUser(t, env, env.A, fmt.Sprintf("admin%d", i), domain.RoleAdmin).ID)
			mkUser(t, env, env.A, fmt.Sprintf("user%d", i), domain.RoleUser)
		}
		mkUser(t, env, env.A, "viewer", domain.RoleViewer)
		mkUser(t, env, env.B, "b-admin", domain.RoleAdmin)
		got, err := write(t, env, env.A, func(ctx context.Context) ([]int64, error) { return env.UserAdmin.LockAdmins(ctx) })
		must(t, err, "lock admins")
		if fmt.Sprint(got) != fmt.Sprint(admins) {
			t.Errorf("LockAdmins = %v, want %v", got, admins)
		}
		env2 := newEnv(t)
		got, err = write(t, env2, env2.A, func(ctx context.Context) ([]int64, error) { return env2.UserAdmin.LockAdmins(ctx) })
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("LockAdmins of a tenant without users = %#v, %v; want an empty list", got, err)
		}
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		env := newEnv(t)
		ctx := t.Context()
		_, err := env.UserAdmin.Update(ctx, domain.User{ID: 1, Name: "x", Role: domain.RoleUser})
		wantNoScope(t, env.tenantEnv, err, "Update")
		wantNoScope(t, env.tenantEnv, env.UserAdmin.Delete(ctx, 1), "Delete")
		_, err = env.UserAdmin.LockAdmins(ctx)
		wantNoScope(t, env.tenantEnv, err, "LockAdmins")
	})
}

// TestCatalogUserAdminLocks proves that LockAdmins holds row locks until the
// unit of work ends: a second transaction cannot lock an admin row (NOWAIT
// fails at once instead of waiting, so no timing is involved) until the
// first commits, while a non-admin row stays free.
func TestCatalogUserAdminLocks(t *testing.T) {
	t.Parallel()
	store, newEnv := catalogFactory(t)
	env := newEnv(t)
	admin := mkUser(t, env, env.A, "admin", domain.RoleAdmin)
	plain := mkUser(t, env, env.A, "plain", domain.RoleUser)
	lockNoWait := func(id int64) error {
		// A separate unit of work: t.Context() carries no scope, so this
		// does not join the outer transaction.
		return store.uow.WithinTenant(t.Context(), env.A, func(ctx context.Context) error {
			h, _, err := postgres.TenantHandle(ctx, store.db)
			if err != nil {
				return err
			}
			var got int64
			return h.NewRaw("SELECT id FROM users WHERE id = ? FOR UPDATE NOWAIT", id).Scan(ctx, &got)
		})
	}
	err := store.uow.WithinTenant(t.Context(), env.A, func(ctx context.Context) error {
		locked, err := env.UserAdmin.LockAdmins(ctx)
		if err != nil {
			return err
		}
		if len(locked) != 1 || locked[0] != admin.ID {
			t.Errorf("LockAdmins = %v, want [%d]", locked, admin.ID)
		}
		if err := lockNoWait(admin.ID); sqlstate(err) != "55P03" { // lock_not_available
			t.Errorf("locking a locked admin row from another transaction = %v, want lock_not_available", err)
		}
		if err := lockNoWait(plain.ID); err != nil {
			t.Errorf("a non-admin row is locked too: %v", err)
		}
		return nil
	})
	must(t, err, "unit of work")
	must(t, lockNoWait(admin.ID), "lock the admin row after the first unit of work ended")
}
