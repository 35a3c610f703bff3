package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/schemata/schemata/domain"
)

// TestCatalogTeams runs the team contract against the postgres adapter.
func TestCatalogTeams(t *testing.T) {
	t.Parallel()
	_, newEnv := catalogFactory(t)
	testTeamRepositoryContract(t, newEnv)
}

func teamID(tm domain.Team) int64 { return tm.ID }
func userID(u domain.User) int64  { return u.ID }

// testTeamRepositoryContract checks a ports.TeamRepository (with the user
// and component repositories it interacts with).
func testTeamRepositoryContract(t *testing.T, newEnv func(t *testing.T) catalogEnv) {
	t.Run("create, get, update, delete", func(t *testing.T) {
		env := newEnv(t)
		created := mkTeam(t, env, env.A, "Payments")
		if created.ID <= 0 || created.Name != "Payments" || created.Description != "team Payments" ||
			created.CreatedAt.IsZero() || !created.UpdatedAt.Equal(created.CreatedAt) {
			t.Fatalf("created team %+v", created)
		}
		got, err := read(t, env, env.A, func(ctx context.Context) (domain.Team, error) { return env.Teams.Get(ctx, created.ID) })
		must(t, err, "get")
		if got != created {
			t.Errorf("get = %+v, want %+v", got, created)
		}
		updated, err := write(t, env, env.A, func(ctx context.Context) (domain.Team, error) {
			return env.Teams.Update(ctx, domain.Team{ID: created.ID, Name: "Payments Core", Description: "money"})
		})
		must(t, err, "update")
		if updated.Name != "Payments Core" || updated.Description != "money" || !updated.CreatedAt.Equal(created.CreatedAt) ||
			!updated.UpdatedAt.After(created.UpdatedAt) {
			t.Errorf("updated team %+v (created %+v)", updated, created)
		}
		// Renaming to its own name in another case is not a conflict with itself.
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Team, error) {
			return env.Teams.Update(ctx, domain.Team{ID: created.ID, Name: "PAYMENTS CORE"})
		})
		must(t, err, "rename to own name in upper case")
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.Delete(ctx, created.ID) }), "delete")
		_, err = read(t, env, env.A, func(ctx context.Context) (domain.Team, error) { return env.Teams.Get(ctx, created.ID) })
		wantCode(t, err, domain.CodeNotFound, "get after delete")
	})

	t.Run("absent team is not found", func(t *testing.T) {
		env := newEnv(t)
		_, err := read(t, env, env.A, func(ctx context.Context) (domain.Team, error) { return env.Teams.Get(ctx, absentID) })
		wantCode(t, err, domain.CodeNotFound, "get")
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Team, error) {
			return env.Teams.Update(ctx, domain.Team{ID: absentID, Name: "x"})
		})
		wantCode(t, err, domain.CodeNotFound, "update")
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.Delete(ctx, absentID) })
		wantCode(t, err, domain.CodeNotFound, "delete")
	})

	t.Run("names are unique case-insensitively", func(t *testing.T) {
		env := newEnv(t)
		mkTeam(t, env, env.A, "Platform")
		other := mkTeam(t, env, env.A, "Data")
		_, err := write(t, env, env.A, func(ctx context.Context) (domain.Team, error) {
			return env.Teams.Create(ctx, domain.Team{Name: "PLATFORM"})
		})
		if de := wantCode(t, err, domain.CodeConflict, "create duplicate"); !mentions(de, `"PLATFORM"`) {
			t.Errorf("conflict message %q does not name the team", de.Message)
		}
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Team, error) {
			return env.Teams.Update(ctx, domain.Team{ID: other.ID, Name: "platform"})
		})
		wantCode(t, err, domain.CodeConflict, "rename onto another team's name")
		got, err := read(t, env, env.A, func(ctx context.Context) (domain.Team, error) { return env.Teams.Get(ctx, other.ID) })
		must(t, err, "get")
		if got.Name != "Data" {
			t.Errorf("refused rename changed the team: %+v", got)
		}
		// The same name in another tenant is fine.
		mkTeam(t, env, env.B, "Platform")
	})

	t.Run("list pages in id order", func(t *testing.T) {
		env := newEnv(t)
		var all []int64
		for i := range 7 {
			all = append(all, mkTeam(t, env, env.A, fmt.Sprintf("team-%d", i)).ID)
		}
		for _, limit := range []int{1, 2, 3, 7, 50} {
			checkKeyset(t, all, limit, func(page domain.Page) ([]int64, error) {
				teams, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Team, error) { return env.Teams.List(ctx, page) })
				return idsOf(teams, teamID), err
			})
		}
		// An unset limit is clamped to the default, not "no rows".
		teams, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Team, error) {
			return env.Teams.List(ctx, domain.Page{})
		})
		must(t, err, "list with zero page")
		if len(teams) != 7 {
			t.Errorf("list with zero page = %d teams, want 7", len(teams))
		}
	})

	t.Run("members", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "Platform")
		other := mkTeam(t, env, env.A, "Other")
		var users []domain.User
		for i := range 5 {
			users = append(users, mkUser(t, env, env.A, fmt.Sprintf("member%d", i), domain.RoleUser))
		}
		outsider := mkUser(t, env, env.A, "outsider", domain.RoleUser)
		// Added out of id order, one of them twice (idempotent).
		for _, i := range []int{3, 0, 4, 1, 2, 3} {
			must(t, exec(t, env, env.A, func(ctx context.Context) error {
				return env.Teams.AddMember(ctx, team.ID, users[i].ID)
			}), "add member")
		}
		must(t, exec(t, env, env.A, func(ctx context.Context) error {
			return env.Teams.AddMember(ctx, other.ID, outsider.ID)
		}), "add member to other team")

		listMembers := func(teamID int64, page domain.Page) ([]domain.User, error) {
			return read(t, env, env.A, func(ctx context.Context) ([]domain.User, error) {
				return env.Teams.ListMembers(ctx, teamID, page)
			})
		}
		for _, limit := range []int{1, 2, 5} {
			checkKeyset(t, idsOf(users, userID), limit, func(page domain.Page) ([]int64, error) {
				members, err := listMembers(team.ID, page)
				for _, m := range members {
					if m.PasswordHash != "" {
						t.Errorf("member %d comes with its password hash", m.ID)
					}
					if m.Email == "" || m.Name == "" || m.Role == "" || m.CreatedAt.IsZero() {
						t.Errorf("member %+v lacks fields", m)
					}
				}
				return idsOf(members, userID), err
			})
		}

		must(t, exec(t, env, env.A, func(ctx context.Context) error {
			return env.Teams.RemoveMember(ctx, team.ID, users[2].ID)
		}), "remove member")
		err := exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.RemoveMember(ctx, team.ID, users[2].ID) })
		wantCode(t, err, domain.CodeNotFound, "remove a non-member")
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.RemoveMember(ctx, team.ID, outsider.ID) })
		wantCode(t, err, domain.CodeNotFound, "remove another team's member")
		members, err := listMembers(team.ID, domain.Page{})
		must(t, err, "list members")
		if got, want := fmt.Sprint(idsOf(members, userID)), fmt.Sprint([]int64{users[0].ID, users[1].ID, users[3].ID, users[4].ID}); got != want {
			t.Errorf("members after removal = %s, want %s", got, want)
		}

		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.AddMember(ctx, team.ID, absentID) })
		if de := wantCode(t, err, domain.CodeInvalid, "add an absent user"); de.Field != "user_id" {
			t.Errorf("absent user names field %q, want user_id", de.Field)
		}
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.AddMember(ctx, absentID, users[0].ID) })
		wantCode(t, err, domain.CodeNotFound, "add to an absent team")
		_, err = listMembers(absentID, domain.Page{})
		wantCode(t, err, domain.CodeNotFound, "list members of an absent team")
		empty := mkTeam(t, env, env.A, "Empty")
		members, err = listMembers(empty.ID, domain.Page{})
		if err != nil || len(members) != 0 {
			t.Errorf("members of an empty team = %v, %v; want none", members, err)
		}
	})

	t.Run("a team that owns components cannot be deleted", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "Owners")
		member := mkUser(t, env, env.A, "owner", domain.RoleUser)
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.AddMember(ctx, team.ID, member.ID) }), "add member")
		c := mkComponent(t, env, env.A, newComponent("ledger", team.ID))
		err := exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.Delete(ctx, team.ID) })
		if de := wantCode(t, err, domain.CodeConflict, "delete a team with components"); !mentions(de, "owns components") {
			t.Errorf("conflict message %q does not say why", de.Message)
		}
		_, err = read(t, env, env.A, func(ctx context.Context) (domain.Team, error) { return env.Teams.Get(ctx, team.ID) })
		must(t, err, "team still there")
		members, err := read(t, env, env.A, func(ctx context.Context) ([]domain.User, error) {
			return env.Teams.ListMembers(ctx, team.ID, domain.Page{})
		})
		if err != nil || len(members) != 1 {
			t.Errorf("members after a refused delete = %v, %v", members, err)
		}

		// Without components it goes, memberships with it.
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Components.Delete(ctx, c.ID) }), "delete component")
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.Delete(ctx, team.ID) }), "delete team")
		_, err = read(t, env, env.A, func(ctx context.Context) ([]domain.User, error) {
			return env.Teams.ListMembers(ctx, team.ID, domain.Page{})
		})
		wantCode(t, err, domain.CodeNotFound, "members of a deleted team")
		_, err = read(t, env, env.A, func(ctx context.Context) (domain.User, error) { return env.Users.Get(ctx, member.ID) })
		must(t, err, "deleting a team keeps its members' users")
	})

	t.Run("tenant isolation", func(t *testing.T) {
		env := newEnv(t)
		mine := mkTeam(t, env, env.A, "Mine")
		mkTeam(t, env, env.B, "B1")
		mkTeam(t, env, env.B, "B2")
		theirs := mkTeam(t, env, env.B, "Theirs")
		mkUser(t, env, env.B, "b1", domain.RoleUser)
		theirUser := mkUser(t, env, env.B, "b2", domain.RoleUser)
		if theirs.ID == mine.ID {
			t.Fatal("fixture: B's team id exists in A")
		}

		_, err := read(t, env, env.A, func(ctx context.Context) (domain.Team, error) { return env.Teams.Get(ctx, theirs.ID) })
		wantCode(t, err, domain.CodeNotFound, "get B's team in A")
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Team, error) {
			return env.Teams.Update(ctx, domain.Team{ID: theirs.ID, Name: "Hijacked"})
		})
		wantCode(t, err, domain.CodeNotFound, "update B's team in A")
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.Delete(ctx, theirs.ID) })
		wantCode(t, err, domain.CodeNotFound, "delete B's team in A")
		err = exec(t, env, env.A, func(ctx context.Context) error { return env.Teams.AddMember(ctx, mine.ID, theirUser.ID) })
		if de := wantCode(t, err, domain.CodeInvalid, "add B's user in A"); de.Field != "user_id" {
			t.Errorf("field = %q, want user_id", de.Field)
		}
		got, err := read(t, env, env.B, func(ctx context.Context) (domain.Team, error) { return env.Teams.Get(ctx, theirs.ID) })
		if err != nil || got != theirs {
			t.Errorf("B's team after A's attempts = %+v, %v; want %+v", got, err, theirs)
		}
		list, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Team, error) { return env.Teams.List(ctx, domain.Page{}) })
		if err != nil || len(list) != 1 || list[0].ID != mine.ID {
			t.Errorf("A lists %+v, %v; want only its own team", list, err)
		}
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		env := newEnv(t)
		ctx := t.Context()
		_, err := env.Teams.List(ctx, domain.Page{})
		wantNoScope(t, env.tenantEnv, err, "List")
		_, err = env.Teams.Get(ctx, 1)
		wantNoScope(t, env.tenantEnv, err, "Get")
		_, err = env.Teams.Create(ctx, domain.Team{Name: "x"})
		wantNoScope(t, env.tenantEnv, err, "Create")
		_, err = env.Teams.Update(ctx, domain.Team{ID: 1, Name: "x"})
		wantNoScope(t, env.tenantEnv, err, "Update")
		wantNoScope(t, env.tenantEnv, env.Teams.Delete(ctx, 1), "Delete")
		wantNoScope(t, env.tenantEnv, env.Teams.AddMember(ctx, 1, 1), "AddMember")
		wantNoScope(t, env.tenantEnv, env.Teams.RemoveMember(ctx, 1, 1), "RemoveMember")
		_, err = env.Teams.ListMembers(ctx, 1, domain.Page{})
		wantNoScope(t, env.tenantEnv, err, "ListMembers")
	})
}
