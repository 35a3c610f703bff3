package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

// TestCatalogDeployments runs the deployment contract against the postgres
// adapter.
func TestCatalogDeployments(t *testing.T) {
	t.Parallel()
	_, newEnv := catalogFactory(t)
	testDeploymentRepositoryContract(t, newEnv)
}

func deploymentID(d domain.Deployment) int64 { return d.ID }

// testDeploymentRepositoryContract checks a ports.DeploymentRepository (with
// the catalog repositories of the same store for fixtures).
func testDeploymentRepositoryContract(t *testing.T, newEnv func(t *testing.T) catalogEnv) {
	getD := func(t *testing.T, env catalogEnv, id int64) (domain.Deployment, error) {
		t.Helper()
		return read(t, env, env.A, func(ctx context.Context) (domain.Deployment, error) { return env.Deployments.Get(ctx, id) })
	}
	recordD := func(t *testing.T, env catalogEnv, d domain.Deployment) (domain.Deployment, error) {
		t.Helper()
		return write(t, env, env.A, func(ctx context.Context) (domain.Deployment, error) { return env.Deployments.Record(ctx, d) })
	}
	current := func(t *testing.T, env catalogEnv, f domain.DeploymentFilter, page ports.CurrentPage) []domain.CurrentDeployment {
		t.Helper()
		cur, err := read(t, env, env.A, func(ctx context.Context) ([]domain.CurrentDeployment, error) {
			return env.Deployments.Current(ctx, f, page)
		})
		must(t, err, "current")
		return cur
	}
	// cell returns the current deployment of (component, environment), or
	// nil when the cell is empty.
	cell := func(t *testing.T, env catalogEnv, component, environment int64) *domain.CurrentDeployment {
		t.Helper()
		cur := current(t, env, domain.DeploymentFilter{ComponentID: component, EnvironmentID: environment}, ports.CurrentPage{})
		switch len(cur) {
		case 0:
			return nil
		case 1:
			return &cur[0]
		}
		t.Fatalf("%d current deployments for one cell: %+v", len(cur), cur)
		return nil
	}

	t.Run("record and get", func(t *testing.T) {
		env := newEnv(t)
		w := mkWorld(t, env, env.A)
		in := domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID, VersionID: w.Version.ID,
			Status: domain.DeploymentInProgress, DeployedAt: stamp(3), Actor: "user:7"}
		d, err := recordD(t, env, in)
		must(t, err, "record")
		if d.ID <= 0 || d.CreatedAt.IsZero() {
			t.Fatalf("recorded %+v", d)
		}
		want := in
		want.ID, want.CreatedAt = d.ID, d.CreatedAt
		if !d.DeployedAt.Equal(in.DeployedAt) {
			t.Errorf("deployed_at %v, want %v", d.DeployedAt, in.DeployedAt)
		}
		want.DeployedAt = d.DeployedAt
		if d != want {
			t.Errorf("recorded %+v, want %+v", d, want)
		}
		got, err := getD(t, env, d.ID)
		if err != nil || got != d {
			t.Errorf("get = %+v, %v; want %+v", got, err, d)
		}
		_, err = getD(t, env, absentID)
		wantCode(t, err, domain.CodeNotFound, "get absent")

		// Status defaults to succeeded, deployed_at to now.
		before := time.Now().Add(-time.Hour)
		d2, err := recordD(t, env, domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID, VersionID: w.Version.ID})
		must(t, err, "record with defaults")
		if d2.Status != domain.DeploymentSucceeded || d2.DeployedAt.Before(before) {
			t.Errorf("defaults: %+v", d2)
		}
		if c := cell(t, env, w.Component.ID, w.Env.ID); c == nil || c.DeploymentID != d2.ID {
			t.Errorf("a default (succeeded) deployment did not become current: %+v", c)
		}
	})

	t.Run("absent references are invalid naming the field; nothing is recorded", func(t *testing.T) {
		env := newEnv(t)
		w := mkWorld(t, env, env.A)
		other := mkComponent(t, env, env.A, newComponent("other", w.Team.ID))
		otherV := mkVersion(t, env, env.A, other.ID, "9.9.9")
		ok := domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID, VersionID: w.Version.ID, Status: domain.DeploymentSucceeded, DeployedAt: stamp(0)}
		for _, tc := range []struct {
			field, message string
			edit           func(d *domain.Deployment)
		}{
			{"component_id", "component does not exist", func(d *domain.Deployment) { d.ComponentID = absentID }},
			{"environment_id", "environment does not exist", func(d *domain.Deployment) { d.EnvironmentID = absentID }},
			{"version_id", "version does not exist", func(d *domain.Deployment) { d.VersionID = absentID }},
			{"version_id", "version does not belong to component", func(d *domain.Deployment) { d.VersionID = otherV.ID }},
			{"status", "status must be", func(d *domain.Deployment) { d.Status = "exploded" }},
		} {
			d := ok
			tc.edit(&d)
			_, err := recordD(t, env, d)
			de := wantCode(t, err, domain.CodeInvalid, "record with bad "+tc.field)
			if de.Field != tc.field || !strings.Contains(de.Message, tc.message) {
				t.Errorf("bad %s: field %q message %q, want %q / %q", tc.field, de.Field, de.Message, tc.field, tc.message)
			}
		}
		list, err := read(t, env, env.A, func(ctx context.Context) ([]domain.Deployment, error) {
			return env.Deployments.List(ctx, domain.DeploymentFilter{}, domain.Page{})
		})
		if err != nil || len(list) != 0 {
			t.Errorf("deployments after refused records = %v, %v", list, err)
		}
		if cur := current(t, env, domain.DeploymentFilter{}, ports.CurrentPage{}); len(cur) != 0 {
			t.Errorf("current state after refused records = %+v", cur)
		}
	})

	t.Run("current state never moves backwards", func(t *testing.T) {
		env := newEnv(t)
		w := mkWorld(t, env, env.A)
		v2 := mkVersion(t, env, env.A, w.Component.ID, "2.0.0")
		v3 := mkVersion(t, env, env.A, w.Component.ID, "3.0.0")
		dep := func(v domain.Version, st domain.DeploymentStatus, minute int) domain.Deployment {
			return record(t, env, env.A, domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID,
				VersionID: v.ID, Status: st, DeployedAt: stamp(minute), Actor: "ci"})
		}
		if c := cell(t, env, w.Component.ID, w.Env.ID); c != nil {
			t.Fatalf("current before any deployment: %+v", c)
		}
		// Failed and other non-succeeded events never make a cell current.
		dep(v3, domain.DeploymentFailed, 1)
		dep(v3, domain.DeploymentInProgress, 1)
		if c := cell(t, env, w.Component.ID, w.Env.ID); c != nil {
			t.Fatalf("a non-succeeded deployment became current: %+v", c)
		}
		newer := dep(v2, domain.DeploymentSucceeded, 10)
		want := domain.CurrentDeployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID, VersionID: v2.ID,
			Version: "2.0.0", DeploymentID: newer.ID, DeployedAt: newer.DeployedAt}
		assertCell := func(what string, want domain.CurrentDeployment) {
			t.Helper()
			c := cell(t, env, w.Component.ID, w.Env.ID)
			if c == nil || !c.DeployedAt.Equal(want.DeployedAt) {
				t.Fatalf("%s: current %+v, want %+v", what, c, want)
			}
			c.DeployedAt = want.DeployedAt
			if *c != want {
				t.Errorf("%s: current %+v, want %+v", what, *c, want)
			}
		}
		assertCell("after the first success", want)
		// A late, older success is recorded but does not move the state.
		late := dep(w.Version, domain.DeploymentSucceeded, 5)
		assertCell("after an older success", want)
		if _, err := getD(t, env, late.ID); err != nil {
			t.Errorf("the late deployment was not recorded: %v", err)
		}
		// A newer failure or rollback does not move it either.
		dep(v3, domain.DeploymentFailed, 20)
		dep(w.Version, domain.DeploymentRolledBack, 21)
		assertCell("after newer failures", want)
		// An equal deployed_at: the later id wins (id tie-break).
		tie := dep(v3, domain.DeploymentSucceeded, 10)
		want = domain.CurrentDeployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID, VersionID: v3.ID,
			Version: "3.0.0", DeploymentID: tie.ID, DeployedAt: tie.DeployedAt}
		assertCell("after a success at the same instant", want)
		// A newer success moves it forwards, even to an older version.
		rollback := dep(w.Version, domain.DeploymentSucceeded, 30)
		want = domain.CurrentDeployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID, VersionID: w.Version.ID,
			Version: "1.0.0", DeploymentID: rollback.ID, DeployedAt: rollback.DeployedAt}
		assertCell("after a newer success of an older version", want)
	})

	t.Run("history is newest first and pages stably", func(t *testing.T) {
		env := newEnv(t)
		w := mkWorld(t, env, env.A)
		staging := mkEnv(t, env, env.A, "staging")
		other := mkComponent(t, env, env.A, newComponent("other", w.Team.ID))
		ov := mkVersion(t, env, env.A, other.ID, "0.0.1")
		// Recorded out of deployed_at order, with ties.
		type ev struct {
			comp, env, ver int64
			minute         int
		}
		evs := []ev{
			{w.Component.ID, w.Env.ID, w.Version.ID, 5}, {w.Component.ID, staging.ID, w.Version.ID, 1},
			{other.ID, w.Env.ID, ov.ID, 5}, {w.Component.ID, w.Env.ID, w.Version.ID, 9},
			{other.ID, staging.ID, ov.ID, 3}, {w.Component.ID, staging.ID, w.Version.ID, 5},
			{w.Component.ID, w.Env.ID, w.Version.ID, 0}, {other.ID, w.Env.ID, ov.ID, 9},
		}
		var recorded []domain.Deployment
		for _, e := range evs {
			recorded = append(recorded, record(t, env, env.A, domain.Deployment{ComponentID: e.comp, EnvironmentID: e.env,
				VersionID: e.ver, Status: domain.DeploymentFailed, DeployedAt: stamp(e.minute)}))
		}
		// want: newest first by (deployed_at, id), filtered.
		want := func(keep func(d domain.Deployment) bool) []int64 {
			var out []domain.Deployment
			for _, d := range recorded {
				if keep(d) {
					out = append(out, d)
				}
			}
			for i := 1; i < len(out); i++ {
				for j := i; j > 0; j-- {
					a, b := out[j-1], out[j]
					if a.DeployedAt.Before(b.DeployedAt) || (a.DeployedAt.Equal(b.DeployedAt) && a.ID < b.ID) {
						out[j-1], out[j] = b, a
					}
				}
			}
			return idsOf(out, deploymentID)
		}
		for _, tc := range []struct {
			name string
			f    domain.DeploymentFilter
			keep func(d domain.Deployment) bool
		}{
			{"all", domain.DeploymentFilter{}, func(domain.Deployment) bool { return true }},
			{"component", domain.DeploymentFilter{ComponentID: w.Component.ID}, func(d domain.Deployment) bool { return d.ComponentID == w.Component.ID }},
			{"environment", domain.DeploymentFilter{EnvironmentID: staging.ID}, func(d domain.Deployment) bool { return d.EnvironmentID == staging.ID }},
			{"both", domain.DeploymentFilter{ComponentID: other.ID, EnvironmentID: w.Env.ID}, func(d domain.Deployment) bool {
				return d.ComponentID == other.ID && d.EnvironmentID == w.Env.ID
			}},
			{"absent component", domain.DeploymentFilter{ComponentID: absentID}, func(domain.Deployment) bool { return false }},
		} {
			for _, limit := range []int{1, 2, 3, 50} {
				got := pageThrough(t, limit, len(recorded)+1, deploymentID, func(page domain.Page) ([]domain.Deployment, error) {
					return read(t, env, env.A, func(ctx context.Context) ([]domain.Deployment, error) {
						return env.Deployments.List(ctx, tc.f, page)
					})
				})
				if fmt.Sprint(idsOf(got, deploymentID)) != fmt.Sprint(want(tc.keep)) {
					t.Errorf("%s, limit %d: %v, want %v", tc.name, limit, idsOf(got, deploymentID), want(tc.keep))
				}
			}
		}
	})

	t.Run("current matrix pages by component then environment", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		var envs []domain.Environment
		for i := range 3 {
			envs = append(envs, mkEnv(t, env, env.A, fmt.Sprintf("env%d", i)))
		}
		type key struct{ c, e int64 }
		var all []key
		versionOf := map[key]string{}
		for i := range 3 {
			c := mkComponent(t, env, env.A, newComponent(fmt.Sprintf("svc%d", i), team.ID))
			v := mkVersion(t, env, env.A, c.ID, fmt.Sprintf("1.%d.0", i))
			// Deployed to the environments in reverse order; svc1 skips env1.
			for j := len(envs) - 1; j >= 0; j-- {
				if i == 1 && j == 1 {
					continue
				}
				record(t, env, env.A, domain.Deployment{ComponentID: c.ID, EnvironmentID: envs[j].ID, VersionID: v.ID,
					Status: domain.DeploymentSucceeded, DeployedAt: stamp(i*10 + j)})
			}
			for j := range envs {
				if i == 1 && j == 1 {
					continue
				}
				k := key{c.ID, envs[j].ID}
				all = append(all, k)
				versionOf[k] = v.Version
			}
		}
		for _, limit := range []int{1, 2, 4, 100} {
			var got []key
			page := ports.CurrentPage{Limit: limit}
			for pages := 0; ; pages++ {
				if pages > len(all)+1 {
					t.Fatalf("current paging with limit %d does not end", limit)
				}
				cur := current(t, env, domain.DeploymentFilter{}, page)
				if len(cur) > limit {
					t.Fatalf("page of %d cells, limit %d", len(cur), limit)
				}
				if len(cur) == 0 {
					break
				}
				for _, c := range cur {
					k := key{c.ComponentID, c.EnvironmentID}
					got = append(got, k)
					if c.Version != versionOf[k] {
						t.Errorf("cell %v has version %q, want %q", k, c.Version, versionOf[k])
					}
				}
				last := cur[len(cur)-1]
				page.AfterComponent, page.AfterEnvironment = last.ComponentID, last.EnvironmentID
			}
			if fmt.Sprint(got) != fmt.Sprint(all) {
				t.Errorf("limit %d: cells %v, want %v", limit, got, all)
			}
		}
		byEnv := current(t, env, domain.DeploymentFilter{EnvironmentID: envs[1].ID}, ports.CurrentPage{})
		if len(byEnv) != 2 || byEnv[0].EnvironmentID != envs[1].ID || byEnv[1].EnvironmentID != envs[1].ID {
			t.Errorf("current filtered by environment: %+v", byEnv)
		}
		byComp := current(t, env, domain.DeploymentFilter{ComponentID: all[0].c}, ports.CurrentPage{})
		if len(byComp) != 3 {
			t.Errorf("current filtered by component: %+v", byComp)
		}
	})

	t.Run("tenant isolation", func(t *testing.T) {
		env := newEnv(t)
		w := mkWorld(t, env, env.A)
		bw := mkWorld(t, env, env.B)
		var theirs domain.Deployment
		for i := range 3 {
			theirs = record(t, env, env.B, domain.Deployment{ComponentID: bw.Component.ID, EnvironmentID: bw.Env.ID,
				VersionID: bw.Version.ID, Status: domain.DeploymentSucceeded, DeployedAt: stamp(i)})
		}
		_, err := getD(t, env, theirs.ID)
		wantCode(t, err, domain.CodeNotFound, "get B's deployment in A")
		// B's version id does not exist in A (A has only version 1).
		bv := mkVersion(t, env, env.B, bw.Component.ID, "2.0.0")
		_, err = recordD(t, env, domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID, VersionID: bv.ID})
		if de := wantCode(t, err, domain.CodeInvalid, "record with B's version in A"); de.Field != "version_id" {
			t.Errorf("field %q", de.Field)
		}
		if cur := current(t, env, domain.DeploymentFilter{}, ports.CurrentPage{}); len(cur) != 0 {
			t.Errorf("A's current state shows %+v", cur)
		}
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		env := newEnv(t)
		ctx := t.Context()
		_, err := env.Deployments.Record(ctx, domain.Deployment{ComponentID: 1, EnvironmentID: 1, VersionID: 1})
		wantNoScope(t, env.tenantEnv, err, "Record")
		_, err = env.Deployments.Get(ctx, 1)
		wantNoScope(t, env.tenantEnv, err, "Get")
		_, err = env.Deployments.List(ctx, domain.DeploymentFilter{}, domain.Page{})
		wantNoScope(t, env.tenantEnv, err, "List")
		_, err = env.Deployments.Current(ctx, domain.DeploymentFilter{}, ports.CurrentPage{})
		wantNoScope(t, env.tenantEnv, err, "Current")
	})
}

// TestCatalogDeploymentLedgerInDB checks what the database enforces on its
// own, through raw SQL that bypasses the repository: the ledger is
// append-only, and a deployment (or a current cell) cannot name a version of
// another component.
func TestCatalogDeploymentLedgerInDB(t *testing.T) {
	t.Parallel()
	store, newEnv := catalogFactory(t)
	env := newEnv(t)
	w := mkWorld(t, env, env.A)
	other := mkComponent(t, env, env.A, newComponent("other", w.Team.ID))
	otherV := mkVersion(t, env, env.A, other.ID, "5.0.0")
	d := record(t, env, env.A, domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID,
		VersionID: w.Version.ID, Status: domain.DeploymentSucceeded, DeployedAt: stamp(0), Actor: "ci"})
	raw := func(q string, args ...any) error {
		return exec(t, env, env.A, func(ctx context.Context) error {
			h, _, err := postgres.TenantHandle(ctx, store.db)
			if err != nil {
				return err
			}
			_, err = h.NewRaw(q, args...).Exec(ctx)
			return err
		})
	}
	for _, q := range []string{
		"UPDATE deployments SET actor = 'forger' WHERE id = ?",
		"UPDATE deployments SET status = 'failed' WHERE id = ?",
		"DELETE FROM deployments WHERE id = ?",
		"TRUNCATE deployments CASCADE -- ?",
	} {
		if err := raw(q, d.ID); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s = %v, want the append-only error", q, err)
		}
	}
	got, err := read(t, env, env.A, func(ctx context.Context) (domain.Deployment, error) { return env.Deployments.Get(ctx, d.ID) })
	if err != nil || got != d {
		t.Errorf("deployment after refused changes = %+v, %v; want %+v", got, err, d)
	}

	err = raw(`INSERT INTO deployments (component_id, environment_id, version_id, status, deployed_at)
		VALUES (?, ?, ?, 'succeeded', now())`, w.Component.ID, w.Env.ID, otherV.ID)
	if sqlstate(err) != "23503" || !strings.Contains(err.Error(), "deployments_version_fkey") {
		t.Errorf("raw insert of another component's version = %v, want the composite foreign key violation", err)
	}
	err = raw(`UPDATE deployment_current SET version_id = ? WHERE component_id = ?`, otherV.ID, w.Component.ID)
	if sqlstate(err) != "23503" || !strings.Contains(err.Error(), "deployment_current_version_fkey") {
		t.Errorf("raw current update to another component's version = %v, want the composite foreign key violation", err)
	}
	if n := tenantCount(t, store.db, env.A, "deployments"); n != 1 {
		t.Errorf("%d deployments after refused inserts, want 1", n)
	}
}
