package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
)

// TestCatalogActivity runs the activity log contract against the postgres
// adapter.
func TestCatalogActivity(t *testing.T) {
	t.Parallel()
	_, newEnv := catalogFactory(t)
	testActivityLogContract(t, newEnv)
}

func activityID(a domain.Activity) int64 { return a.ID }

// testActivityLogContract checks a ports.ActivityLog (with the team
// repository of the same store, for a write to record).
func testActivityLogContract(t *testing.T, newEnv func(t *testing.T) catalogEnv) {
	listA := func(t *testing.T, env catalogEnv, page domain.Page) ([]domain.Activity, error) {
		t.Helper()
		return read(t, env, env.A, func(ctx context.Context) ([]domain.Activity, error) { return env.Activity.List(ctx, page) })
	}

	t.Run("record and list newest first", func(t *testing.T) {
		env := newEnv(t)
		when := stamp(0)
		in := domain.Activity{At: when, ActorID: 7, Actor: "user:7", Action: "create", EntityType: "team", EntityID: 3,
			Detail: map[string]string{"name": "Payments", "quote": `"x"`}}
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Activity.Record(ctx, in) }), "record")
		before := time.Now().Add(-time.Hour)
		must(t, exec(t, env, env.A, func(ctx context.Context) error {
			return env.Activity.Record(ctx, domain.Activity{Actor: "platform-admin", Action: "delete", EntityType: "component", EntityID: 9})
		}), "record with defaults")
		got, err := listA(t, env, domain.Page{})
		must(t, err, "list")
		if len(got) != 2 {
			t.Fatalf("listed %d entries, want 2", len(got))
		}
		if got[0].ID <= got[1].ID {
			t.Errorf("not newest first: %v", idsOf(got, activityID))
		}
		first := got[1]
		if !first.At.Equal(when) {
			t.Errorf("at = %v, want %v", first.At, when)
		}
		want := in
		want.ID, want.At = first.ID, first.At
		if !reflect.DeepEqual(first, want) {
			t.Errorf("entry %+v, want %+v", first, want)
		}
		second := got[0]
		if second.At.Before(before) || second.ActorID != 0 || second.Detail == nil || len(second.Detail) != 0 {
			t.Errorf("entry with defaults %+v", second)
		}
	})

	t.Run("pages by descending id", func(t *testing.T) {
		env := newEnv(t)
		var all []int64
		for i := range 7 {
			must(t, exec(t, env, env.A, func(ctx context.Context) error {
				return env.Activity.Record(ctx, domain.Activity{Actor: "ci", Action: "create", EntityType: "tag", EntityID: int64(i)})
			}), "record")
		}
		got, err := listA(t, env, domain.Page{})
		must(t, err, "list")
		all = idsOf(got, activityID)
		for _, limit := range []int{1, 3, 7, 10} {
			pages := pageThrough(t, limit, len(all)+1, activityID, func(page domain.Page) ([]domain.Activity, error) {
				return listA(t, env, page)
			})
			if fmt.Sprint(idsOf(pages, activityID)) != fmt.Sprint(all) {
				t.Errorf("limit %d: %v, want %v", limit, idsOf(pages, activityID), all)
			}
		}
		for i := 1; i < len(all); i++ {
			if all[i] >= all[i-1] {
				t.Fatalf("not strictly descending: %v", all)
			}
		}
	})

	t.Run("commits and rolls back with the write", func(t *testing.T) {
		env := newEnv(t)
		fail := errors.New("later step failed")
		err := exec(t, env, env.A, func(ctx context.Context) error {
			tm, err := env.Teams.Create(ctx, domain.Team{Name: "Doomed"})
			if err != nil {
				return err
			}
			if err := env.Activity.Record(ctx, domain.Activity{Actor: "ci", Action: "create", EntityType: "team", EntityID: tm.ID}); err != nil {
				return err
			}
			return fail
		})
		if !errors.Is(err, fail) {
			t.Fatalf("unit of work = %v", err)
		}
		got, err := listA(t, env, domain.Page{})
		if err != nil || len(got) != 0 {
			t.Errorf("activity after a rolled back write = %v, %v", got, err)
		}
		must(t, exec(t, env, env.A, func(ctx context.Context) error {
			tm, err := env.Teams.Create(ctx, domain.Team{Name: "Kept"})
			if err != nil {
				return err
			}
			return env.Activity.Record(ctx, domain.Activity{Actor: "ci", Action: "create", EntityType: "team", EntityID: tm.ID})
		}), "committed write")
		got, err = listA(t, env, domain.Page{})
		if err != nil || len(got) != 1 {
			t.Errorf("activity after a committed write = %v, %v", got, err)
		}
	})

	t.Run("action and entity type are required", func(t *testing.T) {
		env := newEnv(t)
		for _, a := range []domain.Activity{{EntityType: "team"}, {Action: "create"}} {
			err := exec(t, env, env.A, func(ctx context.Context) error { return env.Activity.Record(ctx, a) })
			wantCode(t, err, domain.CodeInvalid, fmt.Sprintf("record %+v", a))
		}
	})

	t.Run("tenant isolation", func(t *testing.T) {
		env := newEnv(t)
		must(t, exec(t, env, env.B, func(ctx context.Context) error {
			return env.Activity.Record(ctx, domain.Activity{Actor: "b", Action: "create", EntityType: "team"})
		}), "record in B")
		got, err := listA(t, env, domain.Page{})
		if err != nil || len(got) != 0 {
			t.Errorf("A lists B's activity: %v, %v", got, err)
		}
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		env := newEnv(t)
		ctx := t.Context()
		wantNoScope(t, env.tenantEnv, env.Activity.Record(ctx, domain.Activity{Action: "create", EntityType: "team"}), "Record")
		_, err := env.Activity.List(ctx, domain.Page{})
		wantNoScope(t, env.tenantEnv, err, "List")
	})
}

// TestCatalogActivityAppendOnlyInDB checks that the database refuses to
// change or remove activity entries, even through raw SQL.
func TestCatalogActivityAppendOnlyInDB(t *testing.T) {
	t.Parallel()
	store, newEnv := catalogFactory(t)
	env := newEnv(t)
	must(t, exec(t, env, env.A, func(ctx context.Context) error {
		return env.Activity.Record(ctx, domain.Activity{Actor: "ci", Action: "create", EntityType: "team", EntityID: 1})
	}), "record")
	for _, q := range []string{"UPDATE activity SET actor = 'forger'", "DELETE FROM activity", "TRUNCATE activity"} {
		err := exec(t, env, env.A, func(ctx context.Context) error {
			h, _, err := postgres.TenantHandle(ctx, store.db)
			if err != nil {
				return err
			}
			_, err = h.NewRaw(q).Exec(ctx)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s = %v, want the append-only error", q, err)
		}
	}
	got, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Activity, error) { return env.Activity.List(ctx, domain.Page{}) })
	if err != nil || len(got) != 1 || got[0].Actor != "ci" {
		t.Errorf("activity after refused changes = %+v, %v", got, err)
	}
}
