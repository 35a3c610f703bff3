package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/schemata/schemata/domain"
)

// TestCatalogTags runs the tag contract against the postgres adapter.
func TestCatalogTags(t *testing.T) {
	t.Parallel()
	_, newEnv := catalogFactory(t)
	testTagRepositoryContract(t, newEnv)
}

func tagID(tg domain.Tag) int64 { return tg.ID }

// testTagRepositoryContract checks a ports.TagRepository (with the component
// repository of the same store).
func testTagRepositoryContract(t *testing.T, newEnv func(t *testing.T) catalogEnv) {
	createT := func(t *testing.T, env catalogEnv, name string) (domain.Tag, error) {
		t.Helper()
		return write(t, env, env.A, func(ctx context.Context) (domain.Tag, error) { return env.Tags.Create(ctx, domain.Tag{Name: name}) })
	}
	getT := func(t *testing.T, env catalogEnv, id int64) (domain.Tag, error) {
		t.Helper()
		return read(t, env, env.A, func(ctx context.Context) (domain.Tag, error) { return env.Tags.Get(ctx, id) })
	}

	t.Run("create, get, rename, delete", func(t *testing.T) {
		env := newEnv(t)
		tg, err := createT(t, env, "team:payments")
		must(t, err, "create")
		if tg.ID <= 0 || tg.Name != "team:payments" || tg.CreatedAt.IsZero() {
			t.Fatalf("created %+v", tg)
		}
		got, err := getT(t, env, tg.ID)
		if err != nil || got != tg {
			t.Errorf("get = %+v, %v; want %+v", got, err, tg)
		}
		renamed, err := write(t, env, env.A, func(ctx context.Context) (domain.Tag, error) {
			return env.Tags.Update(ctx, domain.Tag{ID: tg.ID, Name: "team:billing"})
		})
		must(t, err, "rename")
		if renamed.ID != tg.ID || renamed.Name != "team:billing" || !renamed.CreatedAt.Equal(tg.CreatedAt) {
			t.Errorf("renamed %+v", renamed)
		}
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Tags.Delete(ctx, tg.ID) }), "delete")
		_, err = getT(t, env, tg.ID)
		wantCode(t, err, domain.CodeNotFound, "get after delete")
	})

	t.Run("absent, duplicate and malformed", func(t *testing.T) {
		env := newEnv(t)
		_, err := getT(t, env, absentID)
		wantCode(t, err, domain.CodeNotFound, "get")
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Tag, error) {
			return env.Tags.Update(ctx, domain.Tag{ID: absentID, Name: "x"})
		})
		wantCode(t, err, domain.CodeNotFound, "update")
		wantCode(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Tags.Delete(ctx, absentID) }),
			domain.CodeNotFound, "delete")

		_, err = createT(t, env, "gold")
		must(t, err, "create")
		other, err := createT(t, env, "silver")
		must(t, err, "create")
		_, err = createT(t, env, "gold")
		if de := wantCode(t, err, domain.CodeConflict, "duplicate"); !mentions(de, `"gold"`) {
			t.Errorf("conflict message %q does not name the tag", de.Message)
		}
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Tag, error) {
			return env.Tags.Update(ctx, domain.Tag{ID: other.ID, Name: "gold"})
		})
		wantCode(t, err, domain.CodeConflict, "rename onto another tag")
		for _, bad := range []string{"Gold", "two words", "-lead", ""} {
			_, err = createT(t, env, bad)
			if de := wantCode(t, err, domain.CodeInvalid, fmt.Sprintf("create %q", bad)); de.Field != "name" {
				t.Errorf("create %q: field %q, want name", bad, de.Field)
			}
		}
	})

	t.Run("list pages in id order", func(t *testing.T) {
		env := newEnv(t)
		var all []int64
		for i := range 6 {
			tg, err := createT(t, env, fmt.Sprintf("t%d", 5-i))
			must(t, err, "create")
			all = append(all, tg.ID)
		}
		for _, limit := range []int{1, 4, 6, 100} {
			checkKeyset(t, all, limit, func(page domain.Page) ([]int64, error) {
				tags, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Tag, error) { return env.Tags.List(ctx, page) })
				return idsOf(tags, tagID), err
			})
		}
	})

	t.Run("renaming and deleting follow through to components", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		c := mkComponent(t, env, env.A, newComponent("svc", team.ID, "a", "m", "z"))
		tags, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Tag, error) { return env.Tags.List(ctx, domain.Page{}) })
		must(t, err, "list")
		byName := map[string]int64{}
		for _, tg := range tags {
			byName[tg.Name] = tg.ID
		}
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Tag, error) {
			return env.Tags.Update(ctx, domain.Tag{ID: byName["a"], Name: "y"})
		})
		must(t, err, "rename")
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Tags.Delete(ctx, byName["m"]) }), "delete")
		got, err := read(t, env, env.A, func(ctx context.Context) (domain.Component, error) { return env.Components.Get(ctx, c.ID) })
		must(t, err, "get component")
		if fmt.Sprint(got.Tags) != "[y z]" {
			t.Errorf("component tags after rename and delete = %v, want [y z]", got.Tags)
		}
	})

	t.Run("tenant isolation", func(t *testing.T) {
		env := newEnv(t)
		mine, err := createT(t, env, "mine")
		must(t, err, "create")
		var theirs domain.Tag
		for i := range 3 {
			theirs, err = write(t, env, env.B, func(ctx context.Context) (domain.Tag, error) {
				return env.Tags.Create(ctx, domain.Tag{Name: fmt.Sprintf("theirs%d", i)})
			})
			must(t, err, "create in B")
		}
		_, err = getT(t, env, theirs.ID)
		wantCode(t, err, domain.CodeNotFound, "get B's tag in A")
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Tag, error) {
			return env.Tags.Update(ctx, domain.Tag{ID: theirs.ID, Name: "hijacked"})
		})
		wantCode(t, err, domain.CodeNotFound, "rename B's tag in A")
		wantCode(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Tags.Delete(ctx, theirs.ID) }),
			domain.CodeNotFound, "delete B's tag in A")
		got, err := read(t, env, env.B, func(ctx context.Context) (domain.Tag, error) { return env.Tags.Get(ctx, theirs.ID) })
		if err != nil || got != theirs {
			t.Errorf("B's tag after A's attempts = %+v, %v", got, err)
		}
		list, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Tag, error) { return env.Tags.List(ctx, domain.Page{}) })
		if err != nil || len(list) != 1 || list[0] != mine {
			t.Errorf("A lists %+v, %v", list, err)
		}
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		env := newEnv(t)
		ctx := t.Context()
		_, err := env.Tags.List(ctx, domain.Page{})
		wantNoScope(t, env.tenantEnv, err, "List")
		_, err = env.Tags.Get(ctx, 1)
		wantNoScope(t, env.tenantEnv, err, "Get")
		_, err = env.Tags.Create(ctx, domain.Tag{Name: "x"})
		wantNoScope(t, env.tenantEnv, err, "Create")
		_, err = env.Tags.Update(ctx, domain.Tag{ID: 1, Name: "x"})
		wantNoScope(t, env.tenantEnv, err, "Update")
		wantNoScope(t, env.tenantEnv, env.Tags.Delete(ctx, 1), "Delete")
	})
}
