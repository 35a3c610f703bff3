package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
)

// TestCatalogVersions runs the version contract against the postgres
// adapter.
func TestCatalogVersions(t *testing.T) {
	t.Parallel()
	_, newEnv := catalogFactory(t)
	testVersionRepositoryContract(t, newEnv)
}

func versionID(v domain.Version) int64 { return v.ID }

// testVersionRepositoryContract checks a ports.VersionRepository (with the
// component and deployment repositories of the same store).
func testVersionRepositoryContract(t *testing.T, newEnv func(t *testing.T) catalogEnv) {
	getV := func(t *testing.T, env catalogEnv, component, id int64) (domain.Version, error) {
		t.Helper()
		return read(t, env, env.A, func(ctx context.Context) (domain.Version, error) { return env.Versions.Get(ctx, component, id) })
	}
	createV := func(t *testing.T, env catalogEnv, v domain.Version) (domain.Version, error) {
		t.Helper()
		return write(t, env, env.A, func(ctx context.Context) (domain.Version, error) { return env.Versions.Create(ctx, v) })
	}
	listV := func(t *testing.T, env catalogEnv, component int64, page domain.Page) ([]domain.Version, error) {
		t.Helper()
		return read(t, env, env.A, func(ctx context.Context) ([]domain.Version, error) { return env.Versions.List(ctx, component, page) })
	}

	t.Run("create and get", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		c := mkComponent(t, env, env.A, newComponent("svc", team.ID))
		in := domain.Version{ComponentID: c.ID, Version: "1.2.3-rc.1+build.5", ImageDigest: "sha256:" + strings.Repeat("ab", 32),
			GitSHA: "0123abc", Notes: "first"}
		v, err := createV(t, env, in)
		must(t, err, "create")
		if v.ID <= 0 || v.ComponentID != c.ID || v.Version != in.Version || v.ImageDigest != in.ImageDigest || v.GitSHA != in.GitSHA ||
			v.Notes != in.Notes || v.CreatedAt.IsZero() || v.SemVer.String() != in.Version {
			t.Fatalf("created %+v", v)
		}
		got, err := getV(t, env, c.ID, v.ID)
		must(t, err, "get")
		if fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("get = %+v, want %+v", got, v)
		}
		_, err = createV(t, env, domain.Version{ComponentID: c.ID, Version: "v1.0.0"})
		wantCode(t, err, domain.CodeInvalid, "a version that is not SemVer")
		_, err = createV(t, env, domain.Version{ComponentID: c.ID, Version: "3.0.0", GitSHA: "XYZ"})
		if de := wantCode(t, err, domain.CodeInvalid, "bad git sha"); de.Field != "git_sha" {
			t.Errorf("bad git sha: field %q", de.Field)
		}
		_, err = createV(t, env, domain.Version{ComponentID: absentID, Version: "1.0.0"})
		wantCode(t, err, domain.CodeNotFound, "a version of an absent component")
	})

	t.Run("unique by precedence per component", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		c := mkComponent(t, env, env.A, newComponent("svc", team.ID))
		other := mkComponent(t, env, env.A, newComponent("other", team.ID))
		mkVersion(t, env, env.A, c.ID, "1.0.0+a")
		_, err := createV(t, env, domain.Version{ComponentID: c.ID, Version: "1.0.0+b"})
		if de := wantCode(t, err, domain.CodeConflict, "1.0.0+b after 1.0.0+a"); !mentions(de, `"1.0.0+b"`) {
			t.Errorf("conflict message %q does not name the version", de.Message)
		}
		_, err = createV(t, env, domain.Version{ComponentID: c.ID, Version: "1.0.0"})
		wantCode(t, err, domain.CodeConflict, "1.0.0 after 1.0.0+a")
		mkVersion(t, env, env.A, other.ID, "1.0.0+b") // another component: fine
		mkVersion(t, env, env.A, c.ID, "1.0.0-0")     // a pre-release: lower precedence, fine
		vs, err := listV(t, env, c.ID, domain.Page{})
		must(t, err, "list")
		if len(vs) != 2 {
			t.Errorf("versions after refused duplicates = %d, want 2", len(vs))
		}
	})

	t.Run("listed newest first by precedence, paged", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		c := mkComponent(t, env, env.A, newComponent("svc", team.ID))
		noise := mkComponent(t, env, env.A, newComponent("noise", team.ID))
		ascending := []string{"0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
			"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0"}
		shuffled := slices.Clone(ascending)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for i, s := range shuffled {
			mkVersion(t, env, env.A, c.ID, s)
			if i%4 == 0 {
				mkVersion(t, env, env.A, noise.ID, s)
			}
		}
		want := slices.Clone(ascending)
		slices.Reverse(want)
		for _, limit := range []int{1, 2, 5, 13, 100} {
			got := pageThrough(t, limit, len(want)+1, versionID, func(page domain.Page) ([]domain.Version, error) {
				return listV(t, env, c.ID, page)
			})
			names := make([]string, len(got))
			for i, v := range got {
				names[i] = v.Version
				if v.ComponentID != c.ID {
					t.Errorf("listed version %+v of another component", v)
				}
			}
			if fmt.Sprint(names) != fmt.Sprint(want) {
				t.Errorf("limit %d: versions newest first = %v\nwant %v", limit, names, want)
			}
		}
		_, err := listV(t, env, absentID, domain.Page{})
		wantCode(t, err, domain.CodeNotFound, "versions of an absent component")
		empty := mkComponent(t, env, env.A, newComponent("empty", team.ID))
		vs, err := listV(t, env, empty.ID, domain.Page{})
		if err != nil || len(vs) != 0 {
			t.Errorf("versions of a component without any = %v, %v", vs, err)
		}
	})

	t.Run("notes change, nothing else; addressed through the component", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		c := mkComponent(t, env, env.A, newComponent("svc", team.ID))
		other := mkComponent(t, env, env.A, newComponent("other", team.ID))
		v := mkVersion(t, env, env.A, c.ID, "1.0.0")
		u, err := write(t, env, env.A, func(ctx context.Context) (domain.Version, error) {
			return env.Versions.UpdateNotes(ctx, c.ID, v.ID, "shipped")
		})
		must(t, err, "update notes")
		if u.Notes != "shipped" || u.Version != v.Version || !u.CreatedAt.Equal(v.CreatedAt) {
			t.Errorf("after update notes: %+v", u)
		}
		// Through another component the version does not exist.
		_, err = getV(t, env, other.ID, v.ID)
		wantCode(t, err, domain.CodeNotFound, "get through another component")
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Version, error) {
			return env.Versions.UpdateNotes(ctx, other.ID, v.ID, "hijacked")
		})
		wantCode(t, err, domain.CodeNotFound, "update notes through another component")
		wantCode(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Versions.Delete(ctx, other.ID, v.ID) }),
			domain.CodeNotFound, "delete through another component")
		got, err := getV(t, env, c.ID, v.ID)
		if err != nil || got.Notes != "shipped" {
			t.Errorf("version after attempts through another component: %+v, %v", got, err)
		}
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Version, error) {
			return env.Versions.UpdateNotes(ctx, c.ID, absentID, "x")
		})
		wantCode(t, err, domain.CodeNotFound, "update notes of an absent version")
	})

	t.Run("delete, refused while deployed", func(t *testing.T) {
		env := newEnv(t)
		w := mkWorld(t, env, env.A)
		spare := mkVersion(t, env, env.A, w.Component.ID, "0.1.0")
		must(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Versions.Delete(ctx, w.Component.ID, spare.ID) }), "delete")
		_, err := getV(t, env, w.Component.ID, spare.ID)
		wantCode(t, err, domain.CodeNotFound, "get after delete")
		wantCode(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Versions.Delete(ctx, w.Component.ID, spare.ID) }),
			domain.CodeNotFound, "delete again")

		// Referenced by a failed deployment only (not current): still refused.
		failedOnly := mkVersion(t, env, env.A, w.Component.ID, "0.2.0")
		record(t, env, env.A, domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID, VersionID: failedOnly.ID,
			Status: domain.DeploymentFailed, DeployedAt: stamp(0)})
		record(t, env, env.A, domain.Deployment{ComponentID: w.Component.ID, EnvironmentID: w.Env.ID, VersionID: w.Version.ID,
			Status: domain.DeploymentSucceeded, DeployedAt: stamp(1)})
		for _, v := range []domain.Version{failedOnly, w.Version} {
			err := exec(t, env, env.A, func(ctx context.Context) error { return env.Versions.Delete(ctx, w.Component.ID, v.ID) })
			if de := wantCode(t, err, domain.CodeConflict, "delete deployed "+v.Version); !mentions(de, "deployments") {
				t.Errorf("conflict message %q does not say why", de.Message)
			}
			_, err = getV(t, env, w.Component.ID, v.ID)
			must(t, err, "version still there")
		}
	})

	t.Run("tenant isolation", func(t *testing.T) {
		env := newEnv(t)
		team := mkTeam(t, env, env.A, "T")
		c := mkComponent(t, env, env.A, newComponent("svc", team.ID))
		bTeam := mkTeam(t, env, env.B, "T")
		bc := mkComponent(t, env, env.B, newComponent("svc", bTeam.ID))
		var theirs domain.Version
		for i := range 3 {
			theirs = mkVersion(t, env, env.B, bc.ID, fmt.Sprintf("1.0.%d", i))
		}
		// Both tenants' components have id 1: the version id still resolves
		// only inside the caller's schema.
		_, err := getV(t, env, c.ID, theirs.ID)
		wantCode(t, err, domain.CodeNotFound, "get B's version in A")
		_, err = write(t, env, env.A, func(ctx context.Context) (domain.Version, error) {
			return env.Versions.UpdateNotes(ctx, c.ID, theirs.ID, "hijacked")
		})
		wantCode(t, err, domain.CodeNotFound, "update B's version in A")
		wantCode(t, exec(t, env, env.A, func(ctx context.Context) error { return env.Versions.Delete(ctx, c.ID, theirs.ID) }),
			domain.CodeNotFound, "delete B's version in A")
		got, err := read(t, env, env.B, func(ctx context.Context) (domain.Version, error) { return env.Versions.Get(ctx, bc.ID, theirs.ID) })
		if err != nil || got.Notes != "" {
			t.Errorf("B's version after A's attempts = %+v, %v", got, err)
		}
	})

	t.Run("fails closed without a tenant scope", func(t *testing.T) {
		env := newEnv(t)
		ctx := t.Context()
		_, err := env.Versions.List(ctx, 1, domain.Page{})
		wantNoScope(t, env.tenantEnv, err, "List")
		_, err = env.Versions.Get(ctx, 1, 1)
		wantNoScope(t, env.tenantEnv, err, "Get")
		_, err = env.Versions.Create(ctx, domain.Version{ComponentID: 1, Version: "1.0.0"})
		wantNoScope(t, env.tenantEnv, err, "Create")
		_, err = env.Versions.UpdateNotes(ctx, 1, 1, "x")
		wantNoScope(t, env.tenantEnv, err, "UpdateNotes")
		wantNoScope(t, env.tenantEnv, env.Versions.Delete(ctx, 1, 1), "Delete")
	})
}

// TestCatalogVersionsImmutableInDB checks the database itself: UPDATE of any
// version column other than notes fails, even through raw SQL, and leaves
// the row as it was.
func TestCatalogVersionsImmutableInDB(t *testing.T) {
	t.Parallel()
	store, newEnv := catalogFactory(t)
	env := newEnv(t)
	team := mkTeam(t, env, env.A, "T")
	c := mkComponent(t, env, env.A, newComponent("svc", team.ID))
	other := mkComponent(t, env, env.A, newComponent("other", team.ID))
	v := mkVersion(t, env, env.A, c.ID, "1.0.0")
	rawExec := func(q string, args ...any) error {
		return exec(t, env, env.A, func(ctx context.Context) error {
			h, _, err := postgres.TenantHandle(ctx, store.db)
			if err != nil {
				return err
			}
			_, err = h.NewRaw(q, args...).Exec(ctx)
			return err
		})
	}
	for _, set := range []string{
		"version = '9.9.9'",
		"precedence = '\\x00'::bytea || precedence",
		"image_digest = 'sha256:" + strings.Repeat("0", 64) + "'",
		"git_sha = 'abcdef0'",
		fmt.Sprintf("component_id = %d", other.ID),
		"created_at = created_at - interval '1 day'",
		"id = id + 1000",
		"notes = 'ok', git_sha = 'abcdef0'",
	} {
		err := rawExec("UPDATE versions SET "+set+" WHERE id = ?", v.ID)
		if err == nil || !strings.Contains(err.Error(), "immutable except notes") {
			t.Errorf("UPDATE versions SET %s = %v, want the immutability error", set, err)
		}
	}
	must(t, rawExec("UPDATE versions SET notes = 'raw notes' WHERE id = ?", v.ID), "raw update of notes")
	got, err := read(t, env, env.A, func(ctx context.Context) (domain.Version, error) { return env.Versions.Get(ctx, c.ID, v.ID) })
	must(t, err, "get")
	v.Notes = "raw notes"
	if fmt.Sprint(got) != fmt.Sprint(v) {
		t.Errorf("version after refused updates = %+v, want %+v", got, v)
	}
}
