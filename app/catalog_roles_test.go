package app_test

import (
	"context"
	"testing"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// seeded is a company with an admin, a user and a viewer, and one of every
// catalog entity, built through the services themselves.
type seeded struct {
	w                      *world
	c                      tenancy.CompanyID
	admin, user, viewer    app.Principal
	team, team2            domain.Team
	comp, comp2            domain.Component
	ver, ver2              domain.Version
	env, env2              domain.Environment
	tag                    domain.Tag
	deploy                 domain.Deployment
	cloud, stype, registry int64
}

func seed(t *testing.T) *seeded {
	t.Helper()
	w := newWorld(t)
	s := &seeded{w: w}
	s.c, s.admin = w.company(t, "Acme")
	s.user = w.member(t, s.c, "user@acme.test", domain.RoleUser)
	s.viewer = w.member(t, s.c, "viewer@acme.test", domain.RoleViewer)
	s.cloud = w.refID(t, s.c, domain.CloudProviders, "AWS")
	s.stype = w.refID(t, s.c, domain.ServiceTypes, "API")
	s.registry = w.refID(t, s.c, domain.RegistryProviders, "GitHub CR")
	ctx := as(s.admin)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	s.team, err = w.teams.Create(ctx, "Payments", "money")
	must(err)
	s.team2, err = w.teams.Create(ctx, "Idle", "")
	must(err)
	must(w.teams.AddMember(ctx, s.team.ID, s.user.UserID))
	s.comp, err = w.components.Create(ctx, domain.Component{Name: "payments-api", ServiceTypeID: s.stype, TeamID: s.team.ID, Tags: []string{"pci"}})
	must(err)
	s.comp2, err = w.components.Create(ctx, domain.Component{Name: "ledger", ServiceTypeID: s.stype, TeamID: s.team.ID})
	must(err)
	must(w.components.AddDependency(ctx, s.comp.ID, s.comp2.ID))
	s.ver, err = w.components.CreateVersion(ctx, s.comp.ID, domain.Version{Version: "1.0.0"})
	must(err)
	s.ver2, err = w.components.CreateVersion(ctx, s.comp.ID, domain.Version{Version: "1.1.0"})
	must(err)
	s.env, err = w.environments.Create(ctx, domain.Environment{Name: "prod", Category: domain.EnvProduction, CloudProviderID: s.cloud})
	must(err)
	s.env2, err = w.environments.Create(ctx, domain.Environment{Name: "dev", Category: domain.EnvDevelopment, CloudProviderID: s.cloud})
	must(err)
	s.tag, err = w.tags.Create(ctx, "tier-1")
	must(err)
	s.deploy, err = w.deployments.Record(ctx, app.DeploymentInput{ComponentID: s.comp.ID, EnvironmentID: s.env.ID, VersionID: s.ver.ID})
	must(err)
	return s
}

type operation struct {
	name  string
	min   domain.Role // the least role allowed
	write bool
	run   func(ctx context.Context, s *seeded) error
}

func ignore[T any](_ T, err error) error { return err }

var page = domain.Page{}

// operations is every catalog, user and activity use case, with the least
// role the spec allows it for.
var operations = []operation{
	// reads: every user of the tenant
	{"teams.list", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error { return ignore(s.w.teams.List(ctx, page)) }},
	{"teams.get", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error { return ignore(s.w.teams.Get(ctx, s.team.ID)) }},
	{"teams.members", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.teams.ListMembers(ctx, s.team.ID, page))
	}},
	{"components.list", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.components.List(ctx, domain.ComponentFilter{}, page))
	}},
	{"components.get", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.components.Get(ctx, s.comp.ID))
	}},
	{"components.dependencies", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.components.ListDependencies(ctx, s.comp.ID, page))
	}},
	{"components.dependents", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.components.ListDependents(ctx, s.comp2.ID, page))
	}},
	{"versions.list", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.components.ListVersions(ctx, s.comp.ID, page))
	}},
	{"versions.get", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.components.GetVersion(ctx, s.comp.ID, s.ver.ID))
	}},
	{"tags.list", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error { return ignore(s.w.tags.List(ctx, page)) }},
	{"tags.get", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error { return ignore(s.w.tags.Get(ctx, s.tag.ID)) }},
	{"environments.list", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.environments.List(ctx, page))
	}},
	{"environments.get", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.environments.Get(ctx, s.env.ID))
	}},
	{"deployments.list", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.deployments.List(ctx, domain.DeploymentFilter{}, page))
	}},
	{"deployments.get", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.deployments.Get(ctx, s.deploy.ID))
	}},
	{"deployments.current", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.deployments.Current(ctx, domain.DeploymentFilter{}, ports.CurrentPage{}))
	}},

	// catalog writes: user and admin
	{"teams.create", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.teams.Create(ctx, "Search", ""))
	}},
	{"teams.update", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.teams.Update(ctx, s.team.ID, app.TeamPatch{Description: ptr("cash")}))
	}},
	{"teams.delete", domain.RoleUser, true, func(ctx context.Context, s *seeded) error { return s.w.teams.Delete(ctx, s.team2.ID) }},
	{"teams.add_member", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return s.w.teams.AddMember(ctx, s.team2.ID, s.viewer.UserID)
	}},
	{"teams.remove_member", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return s.w.teams.RemoveMember(ctx, s.team.ID, s.user.UserID)
	}},
	{"components.create", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.components.Create(ctx, domain.Component{Name: "search", ServiceTypeID: s.stype, TeamID: s.team.ID}))
	}},
	{"components.update", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.components.Update(ctx, s.comp.ID, app.ComponentPatch{Tier: app.Optional[int]{Set: true, Value: intp(1)}}))
	}},
	{"components.delete", domain.RoleUser, true, func(ctx context.Context, s *seeded) error { return s.w.components.Delete(ctx, s.comp2.ID) }},
	{"components.add_dependency", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return s.w.components.AddDependency(ctx, s.comp2.ID, s.comp.ID)
	}},
	{"components.remove_dependency", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return s.w.components.RemoveDependency(ctx, s.comp.ID, s.comp2.ID)
	}},
	{"versions.create", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.components.CreateVersion(ctx, s.comp.ID, domain.Version{Version: "2.0.0"}))
	}},
	{"versions.notes", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.components.UpdateVersionNotes(ctx, s.comp.ID, s.ver.ID, "first"))
	}},
	{"versions.delete", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return s.w.components.DeleteVersion(ctx, s.comp.ID, s.ver2.ID)
	}},
	{"tags.create", domain.RoleUser, true, func(ctx context.Context, s *seeded) error { return ignore(s.w.tags.Create(ctx, "team:core")) }},
	{"tags.update", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.tags.Update(ctx, s.tag.ID, "tier-2"))
	}},
	{"tags.delete", domain.RoleUser, true, func(ctx context.Context, s *seeded) error { return s.w.tags.Delete(ctx, s.tag.ID) }},
	{"environments.create", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.environments.Create(ctx, domain.Environment{Name: "qa", Category: domain.EnvTesting, CloudProviderID: s.cloud}))
	}},
	{"environments.update", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.environments.Update(ctx, s.env.ID, app.EnvironmentPatch{Region: ptr("eu-west-1")}))
	}},
	{"environments.delete", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return s.w.environments.Delete(ctx, s.env2.ID)
	}},
	{"deployments.record", domain.RoleUser, true, func(ctx context.Context, s *seeded) error {
		return ignore(s.w.deployments.Record(ctx, app.DeploymentInput{ComponentID: s.comp.ID, EnvironmentID: s.env2.ID, VersionID: s.ver2.ID}))
	}},

	// admin only
	{"users.list", domain.RoleAdmin, false, func(ctx context.Context, s *seeded) error { return ignore(s.w.usersSvc.List(ctx, page)) }},
	{"activity.list", domain.RoleAdmin, false, func(ctx context.Context, s *seeded) error { return ignore(s.w.activity.List(ctx, page)) }},
}

// The role rules of the spec, for every use case: viewers read, users also
// write catalog data, admins also manage users and read activity; the
// platform admin has no tenant and is refused everywhere; anonymous callers
// are unauthenticated. A refused call opens no unit of work and records no
// activity; an allowed read uses a read scope only; an allowed write records
// exactly one activity naming the caller.
func TestRoleRulesForEveryUseCase(t *testing.T) {
	ops := append([]operation(nil), operations...)
	// admin-only user management on another user than the caller
	ops = append(ops,
		operation{"users.get_other", domain.RoleAdmin, false, func(ctx context.Context, s *seeded) error {
			return ignore(s.w.usersSvc.Get(ctx, otherUser(ctx, s)))
		}},
		operation{"users.rename_other", domain.RoleAdmin, true, func(ctx context.Context, s *seeded) error {
			return ignore(s.w.usersSvc.Update(ctx, otherUser(ctx, s), app.UserPatch{Name: ptr("Renamed")}))
		}},
		operation{"users.change_role", domain.RoleAdmin, true, func(ctx context.Context, s *seeded) error {
			return ignore(s.w.usersSvc.Update(ctx, otherUser(ctx, s), app.UserPatch{Role: ptr("user")}))
		}},
		operation{"users.delete", domain.RoleAdmin, true, func(ctx context.Context, s *seeded) error {
			return s.w.usersSvc.Delete(ctx, otherUser(ctx, s))
		}},
		// self service: every user
		operation{"users.get_self", domain.RoleViewer, false, func(ctx context.Context, s *seeded) error {
			return ignore(s.w.usersSvc.Get(ctx, selfID(ctx)))
		}},
		operation{"users.rename_self", domain.RoleViewer, true, func(ctx context.Context, s *seeded) error {
			return ignore(s.w.usersSvc.Update(ctx, selfID(ctx), app.UserPatch{Name: ptr("Me")}))
		}},
		operation{"users.change_password", domain.RoleViewer, true, func(ctx context.Context, s *seeded) error {
			current := "password1"
			if selfID(ctx) == s.admin.UserID {
				current = "correct horse"
			}
			return s.w.usersSvc.ChangePassword(ctx, current, "new password 1")
		}},
	)
	roles := []struct {
		name string
		who  func(s *seeded) (context.Context, domain.Role)
	}{
		{"anonymous", func(s *seeded) (context.Context, domain.Role) { return context.Background(), "" }},
		{"platform admin", func(s *seeded) (context.Context, domain.Role) { return as(platformAdmin), "" }},
		{"viewer", func(s *seeded) (context.Context, domain.Role) { return as(s.viewer), domain.RoleViewer }},
		{"user", func(s *seeded) (context.Context, domain.Role) { return as(s.user), domain.RoleUser }},
		{"admin", func(s *seeded) (context.Context, domain.Role) { return as(s.admin), domain.RoleAdmin }},
	}
	for _, op := range ops {
		for _, r := range roles {
			t.Run(op.name+"/"+r.name, func(t *testing.T) {
				s := seed(t)
				ctx, role := r.who(s)
				before := len(s.w.activityOf(s.c))
				writes, reads := len(s.w.uow.WithinTenantCalls()), len(s.w.uow.ReadTenantCalls())
				err := op.run(ctx, s)
				allowed := role != "" && role.AtLeast(op.min)
				switch {
				case r.name == "anonymous":
					wantCode(t, err, domain.CodeUnauthenticated)
				case !allowed:
					wantCode(t, err, domain.CodeForbidden)
				case err != nil:
					t.Fatalf("allowed call failed: %v", err)
				}
				gotWrites := len(s.w.uow.WithinTenantCalls()) - writes
				gotReads := len(s.w.uow.ReadTenantCalls()) - reads
				acts := s.w.activityOf(s.c)[before:]
				switch {
				case !allowed:
					if gotWrites+gotReads != 0 || len(acts) != 0 {
						t.Fatalf("refused call touched the tenant: %d writes, %d reads, activity %+v", gotWrites, gotReads, acts)
					}
				case op.write:
					if gotWrites != 1 || len(acts) != 1 {
						t.Fatalf("write: %d units of work, activity %+v", gotWrites, acts)
					}
					p, _ := app.PrincipalFromContext(ctx)
					if acts[0].Actor != p.Actor() || acts[0].ActorID != p.UserID || acts[0].Action == "" || acts[0].EntityType == "" || acts[0].EntityID <= 0 {
						t.Fatalf("activity %+v", acts[0])
					}
				default:
					if gotWrites != 0 || gotReads == 0 || len(acts) != 0 {
						t.Fatalf("read: %d write units, %d reads, activity %+v", gotWrites, gotReads, acts)
					}
				}
			})
		}
	}
}

// selfID is the caller's user id.
func selfID(ctx context.Context) int64 {
	p, _ := app.PrincipalFromContext(ctx)
	return p.UserID
}

// otherUser is a user of the tenant other than the caller (and not the only admin).
func otherUser(ctx context.Context, s *seeded) int64 {
	if selfID(ctx) == s.user.UserID {
		return s.viewer.UserID
	}
	return s.user.UserID
}
