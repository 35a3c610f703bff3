package app_test

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/ports/portsmock"
	"github.com/schemata/schemata/tenancy"
)

// catalog is one tenant's catalog tables, in memory. The fakes below keep the
// rules the repository contract (ports/catalog.go) and the schema promise:
// unknown referenced ids are Invalid naming the field, unique names are
// Conflicts, deletes of referenced rows are Conflicts.
type catalog struct {
	teams    map[int64]domain.Team
	members  map[[2]int64]bool // {team, user}
	comps    map[int64]domain.Component
	tags     map[int64]domain.Tag
	deps     map[[2]int64]bool // {component, depends_on}
	envs     map[int64]domain.Environment
	versions map[int64]domain.Version
	deploys  map[int64]domain.Deployment
	current  map[[2]int64]domain.CurrentDeployment // {component, environment}
	activity []domain.Activity
}

func newCatalog() *catalog {
	return &catalog{teams: map[int64]domain.Team{}, members: map[[2]int64]bool{}, comps: map[int64]domain.Component{},
		tags: map[int64]domain.Tag{}, deps: map[[2]int64]bool{}, envs: map[int64]domain.Environment{},
		versions: map[int64]domain.Version{}, deploys: map[int64]domain.Deployment{},
		current: map[[2]int64]domain.CurrentDeployment{}}
}

func cloneComponent(c domain.Component) domain.Component {
	c.Tags = slices.Clone(c.Tags)
	if c.Tier != nil {
		t := *c.Tier
		c.Tier = &t
	}
	if c.RegistryProviderID != nil {
		r := *c.RegistryProviderID
		c.RegistryProviderID = &r
	}
	return c
}

func (c *catalog) clone() *catalog {
	out := &catalog{teams: maps.Clone(c.teams), members: maps.Clone(c.members), comps: map[int64]domain.Component{},
		tags: maps.Clone(c.tags), deps: maps.Clone(c.deps), envs: maps.Clone(c.envs), versions: maps.Clone(c.versions),
		deploys: maps.Clone(c.deploys), current: maps.Clone(c.current), activity: slices.Clone(c.activity)}
	for id, comp := range c.comps {
		out.comps[id] = cloneComponent(comp)
	}
	return out
}

type identified interface {
	domain.User | domain.Team | domain.Component | domain.Tag | domain.Environment | domain.Deployment
}

func idOf[T identified](v T) int64 {
	switch x := any(v).(type) {
	case domain.User:
		return x.ID
	case domain.Team:
		return x.ID
	case domain.Component:
		return x.ID
	case domain.Tag:
		return x.ID
	case domain.Environment:
		return x.ID
	case domain.Deployment:
		return x.ID
	}
	panic("unreachable")
}

// pageByID returns the page of m's values (kept by keep, when not nil) in id
// order after page.After.
func pageByID[T identified](m map[int64]T, page domain.Page, keep func(T) bool) []T {
	var all []T
	for _, v := range m {
		if idOf(v) > page.After && (keep == nil || keep(v)) {
			all = append(all, v)
		}
	}
	slices.SortFunc(all, func(a, b T) int { return cmp.Compare(idOf(a), idOf(b)) })
	if len(all) > page.Limit {
		all = all[:page.Limit]
	}
	return all
}

func (w *world) catOf(ctx context.Context) *catalog { return w.cat[mustTenant(ctx)] }

func (w *world) writeCat(ctx context.Context) *catalog { return w.cat[mustWrite(ctx)] }

func (w *world) newID() int64 {
	w.nextID++
	return w.nextID
}

func doesNotExist(field string) error {
	return domain.Invalid(field, "%s does not exist", field)
}

func (w *world) installCatalog() {
	w.userAdmin = &portsmock.UserAdminMock{
		UpdateFunc: func(ctx context.Context, u domain.User) (domain.User, error) {
			c := mustWrite(ctx)
			cur, ok := w.users[c][u.ID]
			if !ok {
				return domain.User{}, domain.NotFound("user")
			}
			cur.Name, cur.Role, cur.PasswordHash, cur.UpdatedAt = u.Name, u.Role, u.PasswordHash, w.now
			w.users[c][u.ID] = cur
			return cur, nil
		},
		DeleteFunc: func(ctx context.Context, id int64) error {
			c := mustWrite(ctx)
			if _, ok := w.users[c][id]; !ok {
				return domain.NotFound("user")
			}
			delete(w.users[c], id)
			for k := range w.cat[c].members {
				if k[1] == id {
					delete(w.cat[c].members, k)
				}
			}
			return nil
		},
		LockAdminsFunc: func(ctx context.Context) ([]int64, error) {
			var ids []int64
			for id, u := range w.users[mustWrite(ctx)] {
				if u.Role == domain.RoleAdmin {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			return ids, nil
		},
	}

	w.teamRepo = &portsmock.TeamRepositoryMock{
		ListFunc: func(ctx context.Context, page domain.Page) ([]domain.Team, error) {
			return pageByID(w.catOf(ctx).teams, page, nil), nil
		},
		GetFunc: func(ctx context.Context, id int64) (domain.Team, error) {
			t, ok := w.catOf(ctx).teams[id]
			if !ok {
				return domain.Team{}, domain.NotFound("team")
			}
			return t, nil
		},
		CreateFunc: func(ctx context.Context, t domain.Team) (domain.Team, error) {
			c := w.writeCat(ctx)
			if teamNameTaken(c, t) {
				return domain.Team{}, domain.Conflict("team name taken")
			}
			t.ID, t.CreatedAt, t.UpdatedAt = w.newID(), w.now, w.now
			c.teams[t.ID] = t
			return t, nil
		},
		UpdateFunc: func(ctx context.Context, t domain.Team) (domain.Team, error) {
			c := w.writeCat(ctx)
			cur, ok := c.teams[t.ID]
			if !ok {
				return domain.Team{}, domain.NotFound("team")
			}
			if teamNameTaken(c, t) {
				return domain.Team{}, domain.Conflict("team name taken")
			}
			t.CreatedAt, t.UpdatedAt = cur.CreatedAt, w.now
			c.teams[t.ID] = t
			return t, nil
		},
		DeleteFunc: func(ctx context.Context, id int64) error {
			c := w.writeCat(ctx)
			if _, ok := c.teams[id]; !ok {
				return domain.NotFound("team")
			}
			for _, comp := range c.comps {
				if comp.TeamID == id {
					return domain.Conflict("team owns components")
				}
			}
			delete(c.teams, id)
			for k := range c.members {
				if k[0] == id {
					delete(c.members, k)
				}
			}
			return nil
		},
		AddMemberFunc: func(ctx context.Context, teamID, userID int64) error {
			c := w.writeCat(ctx)
			if _, ok := c.teams[teamID]; !ok {
				return domain.NotFound("team")
			}
			if _, ok := w.users[mustTenant(ctx)][userID]; !ok {
				return doesNotExist("user_id")
			}
			c.members[[2]int64{teamID, userID}] = true
			return nil
		},
		RemoveMemberFunc: func(ctx context.Context, teamID, userID int64) error {
			c := w.writeCat(ctx)
			if !c.members[[2]int64{teamID, userID}] {
				return domain.NotFound("team member")
			}
			delete(c.members, [2]int64{teamID, userID})
			return nil
		},
		ListMembersFunc: func(ctx context.Context, teamID int64, page domain.Page) ([]domain.User, error) {
			c := w.catOf(ctx)
			if _, ok := c.teams[teamID]; !ok {
				return nil, domain.NotFound("team")
			}
			return pageByID(w.users[mustTenant(ctx)], page, func(u domain.User) bool { return c.members[[2]int64{teamID, u.ID}] }), nil
		},
	}

	w.compRepoC = &portsmock.ComponentRepositoryMock{
		ListFunc: func(ctx context.Context, f domain.ComponentFilter, page domain.Page) ([]domain.Component, error) {
			return pageByID(w.catOf(ctx).comps, page, func(c domain.Component) bool {
				return (f.TeamID == 0 || c.TeamID == f.TeamID) && (f.ServiceTypeID == 0 || c.ServiceTypeID == f.ServiceTypeID) &&
					(f.Lifecycle == "" || c.Lifecycle == f.Lifecycle) && (f.Tag == "" || slices.Contains(c.Tags, f.Tag)) &&
					strings.Contains(strings.ToLower(c.Name), strings.ToLower(f.Query))
			}), nil
		},
		GetFunc: func(ctx context.Context, id int64) (domain.Component, error) {
			c, ok := w.catOf(ctx).comps[id]
			if !ok {
				return domain.Component{}, domain.NotFound("component")
			}
			return cloneComponent(c), nil
		},
		CreateFunc: func(ctx context.Context, comp domain.Component) (domain.Component, error) {
			if err := w.checkComponent(ctx, comp); err != nil {
				return domain.Component{}, err
			}
			comp.ID, comp.CreatedAt, comp.UpdatedAt = w.newID(), w.now, w.now
			w.writeCat(ctx).comps[comp.ID] = cloneComponent(comp)
			return comp, nil
		},
		UpdateFunc: func(ctx context.Context, comp domain.Component) (domain.Component, error) {
			cur, ok := w.writeCat(ctx).comps[comp.ID]
			if !ok {
				return domain.Component{}, domain.NotFound("component")
			}
			if err := w.checkComponent(ctx, comp); err != nil {
				return domain.Component{}, err
			}
			comp.CreatedAt, comp.UpdatedAt = cur.CreatedAt, w.now
			w.writeCat(ctx).comps[comp.ID] = cloneComponent(comp)
			return comp, nil
		},
		DeleteFunc: func(ctx context.Context, id int64) error {
			c := w.writeCat(ctx)
			if _, ok := c.comps[id]; !ok {
				return domain.NotFound("component")
			}
			for _, d := range c.deploys {
				if d.ComponentID == id {
					return domain.Conflict("component has deployments")
				}
			}
			delete(c.comps, id)
			for k := range c.deps {
				if k[0] == id || k[1] == id {
					delete(c.deps, k)
				}
			}
			for vid, v := range c.versions {
				if v.ComponentID == id {
					delete(c.versions, vid)
				}
			}
			return nil
		},
		AddDependencyFunc: func(ctx context.Context, id, other int64) error {
			c := w.writeCat(ctx)
			if _, ok := c.comps[id]; !ok {
				return domain.NotFound("component")
			}
			if id == other {
				return domain.Invalid("depends_on", "self-loop")
			}
			if _, ok := c.comps[other]; !ok {
				return doesNotExist("depends_on")
			}
			if c.deps[[2]int64{id, other}] {
				return domain.Conflict("dependency exists")
			}
			c.deps[[2]int64{id, other}] = true
			return nil
		},
		RemoveDependencyFunc: func(ctx context.Context, id, other int64) error {
			c := w.writeCat(ctx)
			if !c.deps[[2]int64{id, other}] {
				return domain.NotFound("dependency")
			}
			delete(c.deps, [2]int64{id, other})
			return nil
		},
		ListDependenciesFunc: func(ctx context.Context, id int64, page domain.Page) ([]domain.Component, error) {
			c := w.catOf(ctx)
			if _, ok := c.comps[id]; !ok {
				return nil, domain.NotFound("component")
			}
			return pageByID(c.comps, page, func(x domain.Component) bool { return c.deps[[2]int64{id, x.ID}] }), nil
		},
		ListDependentsFunc: func(ctx context.Context, id int64, page domain.Page) ([]domain.Component, error) {
			c := w.catOf(ctx)
			if _, ok := c.comps[id]; !ok {
				return nil, domain.NotFound("component")
			}
			return pageByID(c.comps, page, func(x domain.Component) bool { return c.deps[[2]int64{x.ID, id}] }), nil
		},
	}

	w.tagRepo = &portsmock.TagRepositoryMock{
		ListFunc: func(ctx context.Context, page domain.Page) ([]domain.Tag, error) {
			return pageByID(w.catOf(ctx).tags, page, nil), nil
		},
		GetFunc: func(ctx context.Context, id int64) (domain.Tag, error) {
			t, ok := w.catOf(ctx).tags[id]
			if !ok {
				return domain.Tag{}, domain.NotFound("tag")
			}
			return t, nil
		},
		CreateFunc: func(ctx context.Context, t domain.Tag) (domain.Tag, error) {
			c := w.writeCat(ctx)
			if tagID(c, t.Name) != 0 {
				return domain.Tag{}, domain.Conflict("tag exists")
			}
			t.ID, t.CreatedAt = w.newID(), w.now
			c.tags[t.ID] = t
			return t, nil
		},
		UpdateFunc: func(ctx context.Context, t domain.Tag) (domain.Tag, error) {
			c := w.writeCat(ctx)
			cur, ok := c.tags[t.ID]
			if !ok {
				return domain.Tag{}, domain.NotFound("tag")
			}
			if id := tagID(c, t.Name); id != 0 && id != t.ID {
				return domain.Tag{}, domain.Conflict("tag exists")
			}
			for id, comp := range c.comps {
				for i, n := range comp.Tags {
					if n == cur.Name {
						comp.Tags[i] = t.Name
					}
				}
				slices.Sort(comp.Tags)
				c.comps[id] = comp
			}
			cur.Name = t.Name
			c.tags[t.ID] = cur
			return cur, nil
		},
		DeleteFunc: func(ctx context.Context, id int64) error {
			c := w.writeCat(ctx)
			t, ok := c.tags[id]
			if !ok {
				return domain.NotFound("tag")
			}
			for cid, comp := range c.comps {
				comp.Tags = slices.DeleteFunc(comp.Tags, func(n string) bool { return n == t.Name })
				c.comps[cid] = comp
			}
			delete(c.tags, id)
			return nil
		},
	}

	w.envRepo = &portsmock.EnvironmentRepositoryMock{
		ListFunc: func(ctx context.Context, page domain.Page) ([]domain.Environment, error) {
			return pageByID(w.catOf(ctx).envs, page, nil), nil
		},
		GetFunc: func(ctx context.Context, id int64) (domain.Environment, error) {
			e, ok := w.catOf(ctx).envs[id]
			if !ok {
				return domain.Environment{}, domain.NotFound("environment")
			}
			return e, nil
		},
		CreateFunc: func(ctx context.Context, e domain.Environment) (domain.Environment, error) {
			if err := w.checkEnv(ctx, e); err != nil {
				return domain.Environment{}, err
			}
			e.ID, e.CreatedAt, e.UpdatedAt = w.newID(), w.now, w.now
			w.writeCat(ctx).envs[e.ID] = e
			return e, nil
		},
		UpdateFunc: func(ctx context.Context, e domain.Environment) (domain.Environment, error) {
			cur, ok := w.writeCat(ctx).envs[e.ID]
			if !ok {
				return domain.Environment{}, domain.NotFound("environment")
			}
			if err := w.checkEnv(ctx, e); err != nil {
				return domain.Environment{}, err
			}
			e.CreatedAt, e.UpdatedAt = cur.CreatedAt, w.now
			w.writeCat(ctx).envs[e.ID] = e
			return e, nil
		},
		DeleteFunc: func(ctx context.Context, id int64) error {
			c := w.writeCat(ctx)
			if _, ok := c.envs[id]; !ok {
				return domain.NotFound("environment")
			}
			for _, d := range c.deploys {
				if d.EnvironmentID == id {
					return domain.Conflict("environment has deployments")
				}
			}
			delete(c.envs, id)
			return nil
		},
	}

	w.versionRepo = &portsmock.VersionRepositoryMock{
		ListFunc: func(ctx context.Context, componentID int64, page domain.Page) ([]domain.Version, error) {
			if _, ok := w.catOf(ctx).comps[componentID]; !ok {
				return nil, domain.NotFound("component")
			}
			var all []domain.Version
			for _, v := range w.catOf(ctx).versions {
				if v.ComponentID == componentID {
					all = append(all, v)
				}
			}
			slices.SortFunc(all, func(a, b domain.Version) int { return b.SemVer.Compare(a.SemVer) })
			if page.After != 0 {
				i := slices.IndexFunc(all, func(v domain.Version) bool { return v.ID == page.After })
				all = all[i+1:]
			}
			return all[:min(len(all), page.Limit)], nil
		},
		GetFunc: func(ctx context.Context, componentID, id int64) (domain.Version, error) {
			v, ok := w.catOf(ctx).versions[id]
			if !ok || v.ComponentID != componentID {
				return domain.Version{}, domain.NotFound("version")
			}
			return v, nil
		},
		CreateFunc: func(ctx context.Context, v domain.Version) (domain.Version, error) {
			c := w.writeCat(ctx)
			if _, ok := c.comps[v.ComponentID]; !ok {
				return domain.Version{}, doesNotExist("component_id")
			}
			for _, x := range c.versions {
				if x.ComponentID == v.ComponentID && string(x.SemVer.PrecedenceKey()) == string(v.SemVer.PrecedenceKey()) {
					return domain.Version{}, domain.Conflict("version %s exists", x.Version)
				}
			}
			v.ID, v.CreatedAt = w.newID(), w.now
			c.versions[v.ID] = v
			return v, nil
		},
		UpdateNotesFunc: func(ctx context.Context, componentID, id int64, notes string) (domain.Version, error) {
			c := w.writeCat(ctx)
			v, ok := c.versions[id]
			if !ok || v.ComponentID != componentID {
				return domain.Version{}, domain.NotFound("version")
			}
			v.Notes = notes
			c.versions[id] = v
			return v, nil
		},
		DeleteFunc: func(ctx context.Context, componentID, id int64) error {
			c := w.writeCat(ctx)
			v, ok := c.versions[id]
			if !ok || v.ComponentID != componentID {
				return domain.NotFound("version")
			}
			for _, d := range c.deploys {
				if d.VersionID == id {
					return domain.Conflict("version has deployments")
				}
			}
			delete(c.versions, id)
			return nil
		},
	}

	w.deployRepo = &portsmock.DeploymentRepositoryMock{
		RecordFunc: func(ctx context.Context, d domain.Deployment) (domain.Deployment, error) {
			c := w.writeCat(ctx)
			if _, ok := c.comps[d.ComponentID]; !ok {
				return domain.Deployment{}, doesNotExist("component_id")
			}
			if _, ok := c.envs[d.EnvironmentID]; !ok {
				return domain.Deployment{}, doesNotExist("environment_id")
			}
			v, ok := c.versions[d.VersionID]
			if !ok || v.ComponentID != d.ComponentID {
				return domain.Deployment{}, domain.Invalid("version_id", "version_id is not a version of that component")
			}
			d.ID, d.CreatedAt = w.newID(), w.now
			c.deploys[d.ID] = d
			key := [2]int64{d.ComponentID, d.EnvironmentID}
			cur, ok := c.current[key]
			if d.Status == domain.DeploymentSucceeded &&
				(!ok || d.DeployedAt.After(cur.DeployedAt) || d.DeployedAt.Equal(cur.DeployedAt) && d.ID > cur.DeploymentID) {
				c.current[key] = domain.CurrentDeployment{ComponentID: d.ComponentID, EnvironmentID: d.EnvironmentID,
					VersionID: d.VersionID, Version: v.Version, DeploymentID: d.ID, DeployedAt: d.DeployedAt}
			}
			return d, nil
		},
		GetFunc: func(ctx context.Context, id int64) (domain.Deployment, error) {
			d, ok := w.catOf(ctx).deploys[id]
			if !ok {
				return domain.Deployment{}, domain.NotFound("deployment")
			}
			return d, nil
		},
		ListFunc: func(ctx context.Context, f domain.DeploymentFilter, page domain.Page) ([]domain.Deployment, error) {
			all := pageByID(w.catOf(ctx).deploys, domain.Page{Limit: 1 << 30}, func(d domain.Deployment) bool {
				return (f.ComponentID == 0 || d.ComponentID == f.ComponentID) && (f.EnvironmentID == 0 || d.EnvironmentID == f.EnvironmentID)
			})
			slices.SortFunc(all, func(a, b domain.Deployment) int {
				return cmp.Or(b.DeployedAt.Compare(a.DeployedAt), cmp.Compare(b.ID, a.ID))
			})
			if page.After != 0 {
				i := slices.IndexFunc(all, func(d domain.Deployment) bool { return d.ID == page.After })
				all = all[i+1:]
			}
			return all[:min(len(all), page.Limit)], nil
		},
		CurrentFunc: func(ctx context.Context, f domain.DeploymentFilter, page ports.CurrentPage) ([]domain.CurrentDeployment, error) {
			var all []domain.CurrentDeployment
			for k, cd := range w.catOf(ctx).current {
				if (f.ComponentID == 0 || k[0] == f.ComponentID) && (f.EnvironmentID == 0 || k[1] == f.EnvironmentID) &&
					(k[0] > page.AfterComponent || k[0] == page.AfterComponent && k[1] > page.AfterEnvironment) {
					all = append(all, cd)
				}
			}
			slices.SortFunc(all, func(a, b domain.CurrentDeployment) int {
				return cmp.Or(cmp.Compare(a.ComponentID, b.ComponentID), cmp.Compare(a.EnvironmentID, b.EnvironmentID))
			})
			return all[:min(len(all), page.Limit)], nil
		},
	}

	w.activityLog = &portsmock.ActivityLogMock{
		RecordFunc: func(ctx context.Context, a domain.Activity) error {
			c := w.writeCat(ctx)
			a.ID, a.At = w.newID(), w.now
			c.activity = append(c.activity, a)
			return nil
		},
		ListFunc: func(ctx context.Context, page domain.Page) ([]domain.Activity, error) {
			var out []domain.Activity
			acts := w.catOf(ctx).activity
			for i := len(acts) - 1; i >= 0 && len(out) < page.Limit; i-- {
				if page.After == 0 || acts[i].ID < page.After {
					out = append(out, acts[i])
				}
			}
			return out, nil
		},
	}

	w.principals = app.NewPrincipalCache(5*time.Second, w.clock)
	w.authCached = app.NewAuth(app.AuthDeps{UoW: w.uow, Directory: w.dir, Provisioner: w.prov, Users: w.userRepo,
		Lookup: w.lookupM, Invitations: w.invRepo, Audit: w.auditM, Activity: w.activityLog, Hasher: w.hasher, Tokens: w.tokensM,
		Clock: w.clock, Limiter: w.limiter, Principals: w.principals}, app.AuthConfig{DummyPHC: "phc:dummy"})
	w.usersSvc = app.NewUsers(w.uow, w.userRepo, w.userAdmin, w.lookupM, w.hasher, w.activityLog, w.auditM, w.principals)
	w.teams = app.NewTeams(w.uow, w.teamRepo, w.activityLog)
	w.components = app.NewComponents(w.uow, w.compRepoC, w.versionRepo, w.activityLog)
	w.tags = app.NewTags(w.uow, w.tagRepo, w.activityLog)
	w.environments = app.NewEnvironments(w.uow, w.envRepo, w.activityLog)
	w.deployments = app.NewDeployments(w.uow, w.deployRepo, w.clock, w.activityLog)
	w.activity = app.NewActivity(w.uow, w.activityLog)
}

func teamNameTaken(c *catalog, t domain.Team) bool {
	for _, x := range c.teams {
		if x.ID != t.ID && strings.EqualFold(x.Name, t.Name) {
			return true
		}
	}
	return false
}

func tagID(c *catalog, name string) int64 {
	for _, t := range c.tags {
		if t.Name == name {
			return t.ID
		}
	}
	return 0
}

// checkComponent enforces what the database does on a component write:
// references exist in the tenant, the name is unique; unknown tags are created.
func (w *world) checkComponent(ctx context.Context, comp domain.Component) error {
	id := mustWrite(ctx)
	c := w.cat[id]
	if _, ok := w.refs[id][domain.ServiceTypes][comp.ServiceTypeID]; !ok {
		return doesNotExist("service_type_id")
	}
	if _, ok := c.teams[comp.TeamID]; !ok {
		return doesNotExist("team_id")
	}
	if comp.RegistryProviderID != nil {
		if _, ok := w.refs[id][domain.RegistryProviders][*comp.RegistryProviderID]; !ok {
			return doesNotExist("registry_provider_id")
		}
	}
	for _, x := range c.comps {
		if x.ID != comp.ID && strings.EqualFold(x.Name, comp.Name) {
			return domain.Conflict("component name taken")
		}
	}
	for _, n := range comp.Tags {
		if tagID(c, n) == 0 {
			t := domain.Tag{ID: w.newID(), Name: n, CreatedAt: w.now}
			c.tags[t.ID] = t
		}
	}
	return nil
}

func (w *world) checkEnv(ctx context.Context, e domain.Environment) error {
	id := mustWrite(ctx)
	if _, ok := w.refs[id][domain.CloudProviders][e.CloudProviderID]; !ok {
		return doesNotExist("cloud_provider_id")
	}
	for _, x := range w.cat[id].envs {
		if x.ID != e.ID && strings.EqualFold(x.Name, e.Name) {
			return domain.Conflict("environment name taken")
		}
	}
	return nil
}

// refID returns the id of the tenant's reference item named name.
func (w *world) refID(t *testing.T, c tenancy.CompanyID, kind domain.RefKind, name string) int64 {
	t.Helper()
	for id, it := range w.refs[c][kind] {
		if it.Name == name {
			return id
		}
	}
	t.Fatalf("no %s %q", kind, name)
	return 0
}

// member registers a user of company c with role and returns its principal.
func (w *world) member(t *testing.T, c tenancy.CompanyID, email string, role domain.Role) app.Principal {
	t.Helper()
	u, _, err := w.auth.Register(as(platformAdmin), app.RegisterInput{Name: "M " + email, Email: email,
		Password: "password1", CompanyID: c, Role: string(role)})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return app.Principal{CompanyID: c, UserID: u.ID, Role: role}
}

// activityOf returns the activity recorded in tenant c, oldest first.
func (w *world) activityOf(c tenancy.CompanyID) []domain.Activity { return w.cat[c].activity }

// lastActivity returns the newest activity of tenant c.
func (w *world) lastActivity(t *testing.T, c tenancy.CompanyID) domain.Activity {
	t.Helper()
	acts := w.activityOf(c)
	if len(acts) == 0 {
		t.Fatal("no activity recorded")
	}
	return acts[len(acts)-1]
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	wantCode(t, err, domain.CodeInvalid)
	if de, ok := err.(*domain.Error); !ok || de.Field != field {
		t.Fatalf("want invalid field %q, got %v", field, err)
	}
}

func i64(v int64) *int64 { return &v }

func intp(v int) *int { return &v }
