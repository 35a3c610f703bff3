package app_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/ports/portsmock"
	"github.com/schemata/schemata/tenancy"
)

// world is an in-memory model of the database built from the moq fakes: the
// unit-of-work fake snapshots the state and restores it when fn fails, so the
// tests can prove "nothing written" without PostgreSQL.
type world struct {
	mu        sync.Mutex
	now       time.Time
	companies map[tenancy.CompanyID]domain.Company
	users     map[tenancy.CompanyID]map[int64]domain.User
	lookup    map[string]tenancy.CompanyID
	invites   map[tenancy.CompanyID]map[int64]domain.Invitation
	refs      map[tenancy.CompanyID]map[domain.RefKind]map[int64]domain.RefItem
	audit     []domain.AuditEvent
	nextID    int64
	failed    map[string]int // login limiter failures per key
	tokens    map[string]ports.Claims
	// retryAfter is what the limiter fake answers for a blocked key.
	retryAfter time.Duration

	uow          *portsmock.UnitOfWorkMock
	prov         *portsmock.ProvisionerMock
	dir          *portsmock.TenantDirectoryMock
	compRepo     *portsmock.CompanyRepositoryMock
	userRepo     *portsmock.UserRepositoryMock
	lookupM      *portsmock.EmailLookupMock
	invRepo      *portsmock.InvitationRepositoryMock
	refRepo      *portsmock.ReferenceRepositoryMock
	auditM       *portsmock.AuditLogMock
	hasher       *portsmock.PasswordHasherMock
	tokensM      *portsmock.TokenIssuerMock
	clock        *portsmock.ClockMock
	limiter      *portsmock.LoginLimiterMock
	companiesSvc *app.Companies
	auth         *app.Auth
	reference    *app.Reference

	// The catalog (issue 3): state per tenant, fakes and services.
	cat          map[tenancy.CompanyID]*catalog
	userAdmin    *portsmock.UserAdminMock
	teamRepo     *portsmock.TeamRepositoryMock
	compRepoC    *portsmock.ComponentRepositoryMock
	tagRepo      *portsmock.TagRepositoryMock
	envRepo      *portsmock.EnvironmentRepositoryMock
	versionRepo  *portsmock.VersionRepositoryMock
	deployRepo   *portsmock.DeploymentRepositoryMock
	activityLog  *portsmock.ActivityLogMock
	principals   *app.PrincipalCache
	authCached   *app.Auth // auth with the principal cache
	usersSvc     *app.Users
	teams        *app.Teams
	components   *app.Components
	tags         *app.Tags
	environments *app.Environments
	deployments  *app.Deployments
	activity     *app.Activity
}

type scopeKey struct{}

// writeKey marks a context inside WithinTenant (a write unit of work), as
// opposed to ReadTenant.
type writeKey struct{}

// mustWrite is called by every fake that writes: a write outside a write unit
// of work (or in another tenant's) is a bug in the service under test.
func mustWrite(ctx context.Context) tenancy.CompanyID {
	id := mustTenant(ctx)
	if ctx.Value(writeKey{}) != true {
		panic("write outside a WithinTenant unit of work")
	}
	return id
}

func tenantOf(ctx context.Context) (tenancy.CompanyID, bool) {
	id, ok := ctx.Value(scopeKey{}).(tenancy.CompanyID)
	return id, ok
}

type snapshot struct {
	companies map[tenancy.CompanyID]domain.Company
	users     map[tenancy.CompanyID]map[int64]domain.User
	lookup    map[string]tenancy.CompanyID
	invites   map[tenancy.CompanyID]map[int64]domain.Invitation
	refs      map[tenancy.CompanyID]map[domain.RefKind]map[int64]domain.RefItem
	audit     []domain.AuditEvent
	cat       map[tenancy.CompanyID]*catalog
}

func cloneNested[K comparable, K2 comparable, V any](m map[K]map[K2]V) map[K]map[K2]V {
	out := make(map[K]map[K2]V, len(m))
	for k, v := range m {
		out[k] = maps.Clone(v)
	}
	return out
}

func (w *world) snap() snapshot {
	refs := make(map[tenancy.CompanyID]map[domain.RefKind]map[int64]domain.RefItem)
	for k, v := range w.refs {
		refs[k] = cloneNested(v)
	}
	cat := make(map[tenancy.CompanyID]*catalog, len(w.cat))
	for k, v := range w.cat {
		cat[k] = v.clone()
	}
	return snapshot{maps.Clone(w.companies), cloneNested(w.users), maps.Clone(w.lookup), cloneNested(w.invites), refs,
		append([]domain.AuditEvent(nil), w.audit...), cat}
}

func (w *world) restore(s snapshot) {
	w.companies, w.users, w.lookup, w.invites, w.refs, w.audit = s.companies, s.users, s.lookup, s.invites, s.refs, s.audit
	w.cat = s.cat
}

// tx runs fn like a transaction: on error the state is restored.
func (w *world) tx(ctx context.Context, id tenancy.CompanyID, fn func(ctx context.Context) error) error {
	s := w.snap()
	if err := fn(context.WithValue(context.WithValue(ctx, scopeKey{}, id), writeKey{}, true)); err != nil {
		w.restore(s)
		return err
	}
	return nil
}

func mustTenant(ctx context.Context) tenancy.CompanyID {
	id, ok := tenantOf(ctx)
	if !ok {
		panic("tenant repository used outside a unit of work")
	}
	return id
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{
		now:       time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC),
		companies: map[tenancy.CompanyID]domain.Company{},
		users:     map[tenancy.CompanyID]map[int64]domain.User{},
		lookup:    map[string]tenancy.CompanyID{},
		invites:   map[tenancy.CompanyID]map[int64]domain.Invitation{},
		refs:      map[tenancy.CompanyID]map[domain.RefKind]map[int64]domain.RefItem{},
		failed:    map[string]int{},
		cat:       map[tenancy.CompanyID]*catalog{},
		tokens:    map[string]ports.Claims{},
	}
	w.uow = &portsmock.UnitOfWorkMock{
		WithinTenantFunc: w.tx,
		ReadTenantFunc: func(ctx context.Context, id tenancy.CompanyID, fn func(ctx context.Context) error) error {
			return fn(context.WithValue(ctx, scopeKey{}, id))
		},
	}
	w.prov = &portsmock.ProvisionerMock{
		CreateFunc: func(ctx context.Context, name string, within func(ctx context.Context, id tenancy.CompanyID) error) (domain.Company, error) {
			s := w.snap()
			w.nextID++
			id := tenancy.CompanyID(w.nextID)
			c := domain.Company{ID: int64(id), Name: name, CreatedAt: w.now}
			w.companies[id] = c
			w.users[id] = map[int64]domain.User{}
			w.invites[id] = map[int64]domain.Invitation{}
			w.refs[id] = map[domain.RefKind]map[int64]domain.RefItem{}
			w.cat[id] = newCatalog()
			for _, k := range domain.RefKinds {
				w.refs[id][k] = map[int64]domain.RefItem{}
				for _, n := range domain.DefaultReferenceData[k] {
					w.nextID++
					w.refs[id][k][w.nextID] = domain.RefItem{ID: w.nextID, Name: n}
				}
			}
			if within != nil {
				if err := within(context.WithValue(context.WithValue(ctx, scopeKey{}, id), writeKey{}, true), id); err != nil {
					w.restore(s)
					return domain.Company{}, err
				}
			}
			return c, nil
		},
		DeleteFunc: func(ctx context.Context, id tenancy.CompanyID, guard func(ctx context.Context) error) error {
			if _, ok := w.companies[id]; !ok {
				return domain.NotFound("company")
			}
			return w.tx(ctx, id, func(ctx context.Context) error {
				if err := guard(ctx); err != nil {
					return err
				}
				delete(w.companies, id)
				delete(w.users, id)
				for e, c := range w.lookup {
					if c == id {
						delete(w.lookup, e)
					}
				}
				return nil
			})
		},
	}
	w.dir = &portsmock.TenantDirectoryMock{
		ExistsFunc: func(ctx context.Context, id tenancy.CompanyID) (bool, error) {
			_, ok := w.companies[id]
			return ok, nil
		},
		InvalidateFunc: func(ctx context.Context, id tenancy.CompanyID) {},
	}
	w.compRepo = &portsmock.CompanyRepositoryMock{
		GetFunc: func(ctx context.Context, id tenancy.CompanyID) (domain.Company, error) {
			c, ok := w.companies[id]
			if !ok {
				return domain.Company{}, domain.NotFound("company")
			}
			return c, nil
		},
		ListFunc: func(ctx context.Context, page domain.Page) ([]domain.Company, error) {
			var out []domain.Company
			for id := tenancy.CompanyID(page.After + 1); id <= tenancy.CompanyID(w.nextID) && len(out) < page.Limit; id++ {
				if c, ok := w.companies[id]; ok {
					out = append(out, c)
				}
			}
			return out, nil
		},
	}
	w.userRepo = &portsmock.UserRepositoryMock{
		CreateFunc: func(ctx context.Context, u domain.User) (domain.User, error) {
			id := mustTenant(ctx)
			for _, x := range w.users[id] {
				if strings.EqualFold(x.Email, u.Email) {
					return domain.User{}, domain.Conflict("email already registered")
				}
			}
			w.nextID++
			u.ID, u.CreatedAt, u.UpdatedAt = w.nextID, w.now, w.now
			w.users[id][u.ID] = u
			return u, nil
		},
		GetFunc: func(ctx context.Context, uid int64) (domain.User, error) {
			u, ok := w.users[mustTenant(ctx)][uid]
			if !ok {
				return domain.User{}, domain.NotFound("user")
			}
			return u, nil
		},
		GetByEmailFunc: func(ctx context.Context, email string) (domain.User, error) {
			for _, u := range w.users[mustTenant(ctx)] {
				if u.Email == email {
					return u, nil
				}
			}
			return domain.User{}, domain.NotFound("user")
		},
		CountFunc: func(ctx context.Context) (int64, error) { return int64(len(w.users[mustTenant(ctx)])), nil },
		ListFunc: func(ctx context.Context, page domain.Page) ([]domain.User, error) {
			return pageByID(w.users[mustTenant(ctx)], page, nil), nil
		},
	}
	w.lookupM = &portsmock.EmailLookupMock{
		ClaimFunc: func(ctx context.Context, email string, company tenancy.CompanyID) error {
			if _, ok := w.lookup[email]; ok {
				return domain.Conflict("email already registered")
			}
			w.lookup[email] = company
			return nil
		},
		FindFunc: func(ctx context.Context, email string) (tenancy.CompanyID, error) {
			c, ok := w.lookup[email]
			if !ok {
				return 0, domain.NotFound("email")
			}
			return c, nil
		},
		ReleaseFunc: func(ctx context.Context, email string) error {
			mustWrite(ctx)
			delete(w.lookup, email)
			return nil
		},
	}
	w.invRepo = &portsmock.InvitationRepositoryMock{
		CreateFunc: func(ctx context.Context, inv domain.Invitation) (domain.Invitation, error) {
			w.nextID++
			inv.ID, inv.CreatedAt = w.nextID, w.now
			w.invites[mustTenant(ctx)][inv.ID] = inv
			return inv, nil
		},
		GetByTokenHashForUpdateFunc: func(ctx context.Context, hash []byte) (domain.Invitation, error) {
			for _, inv := range w.invites[mustTenant(ctx)] {
				if string(inv.TokenHash) == string(hash) {
					return inv, nil
				}
			}
			return domain.Invitation{}, domain.NotFound("invitation")
		},
		MarkUsedFunc: func(ctx context.Context, id int64, at time.Time) error {
			c := mustTenant(ctx)
			inv := w.invites[c][id]
			inv.UsedAt = &at
			w.invites[c][id] = inv
			return nil
		},
	}
	w.refRepo = &portsmock.ReferenceRepositoryMock{
		ListFunc: func(ctx context.Context, kind domain.RefKind, page domain.Page) ([]domain.RefItem, error) {
			var out []domain.RefItem
			for id := page.After + 1; id <= w.nextID && len(out) < page.Limit; id++ {
				if it, ok := w.refs[mustTenant(ctx)][kind][id]; ok {
					out = append(out, it)
				}
			}
			return out, nil
		},
		GetFunc: func(ctx context.Context, kind domain.RefKind, id int64) (domain.RefItem, error) {
			it, ok := w.refs[mustTenant(ctx)][kind][id]
			if !ok {
				return domain.RefItem{}, domain.NotFound(kind.Singular())
			}
			return it, nil
		},
		CreateFunc: func(ctx context.Context, kind domain.RefKind, item domain.RefItem) (domain.RefItem, error) {
			c := mustTenant(ctx)
			for _, it := range w.refs[c][kind] {
				if strings.EqualFold(it.Name, item.Name) {
					return domain.RefItem{}, domain.Conflict("duplicate")
				}
			}
			w.nextID++
			item.ID = w.nextID
			w.refs[c][kind][item.ID] = item
			return item, nil
		},
		UpdateFunc: func(ctx context.Context, kind domain.RefKind, item domain.RefItem) (domain.RefItem, error) {
			c := mustTenant(ctx)
			if _, ok := w.refs[c][kind][item.ID]; !ok {
				return domain.RefItem{}, domain.NotFound(kind.Singular())
			}
			w.refs[c][kind][item.ID] = item
			return item, nil
		},
		DeleteFunc: func(ctx context.Context, kind domain.RefKind, id int64) error {
			c := mustTenant(ctx)
			if _, ok := w.refs[c][kind][id]; !ok {
				return domain.NotFound(kind.Singular())
			}
			delete(w.refs[c][kind], id)
			return nil
		},
	}
	w.auditM = &portsmock.AuditLogMock{RecordFunc: func(ctx context.Context, e domain.AuditEvent) error {
		w.audit = append(w.audit, e)
		return nil
	}}
	w.hasher = &portsmock.PasswordHasherMock{
		HashFunc: func(ctx context.Context, password string) (string, error) { return "phc:" + password, nil },
		VerifyFunc: func(ctx context.Context, password, phc string) (bool, error) {
			return phc == "phc:"+password, nil
		},
	}
	w.tokensM = &portsmock.TokenIssuerMock{
		IssueFunc: func(ctx context.Context, c ports.Claims) (string, time.Duration, error) {
			tok := fmt.Sprintf("tok-%d-%d-%d", c.CompanyID, c.UserID, len(w.tokens))
			w.tokens[tok] = c
			return tok, time.Hour, nil
		},
		VerifyFunc: func(ctx context.Context, token string) (ports.Claims, error) {
			c, ok := w.tokens[token]
			if !ok {
				return ports.Claims{}, domain.Errorf(domain.CodeUnauthenticated, "invalid or expired token")
			}
			return c, nil
		},
	}
	w.clock = &portsmock.ClockMock{NowFunc: func() time.Time { return w.now }}
	w.limiter = &portsmock.LoginLimiterMock{
		AllowFunc:     func(ctx context.Context, key string) bool { return w.failed[key] < 3 },
		FailedFunc:    func(ctx context.Context, key string) { w.failed[key]++ },
		SucceededFunc: func(ctx context.Context, key string) { delete(w.failed, key) },
		RetryAfterFunc: func(ctx context.Context, key string) time.Duration {
			if w.failed[key] < 3 {
				return 0
			}
			return w.retryAfter
		},
	}
	w.companiesSvc = app.NewCompanies(w.prov, w.compRepo, w.dir, w.userRepo, w.auditM)
	w.installCatalog()
	w.auth = app.NewAuth(app.AuthDeps{UoW: w.uow, Directory: w.dir, Provisioner: w.prov, Users: w.userRepo,
		Lookup: w.lookupM, Invitations: w.invRepo, Audit: w.auditM, Activity: w.activityLog, Hasher: w.hasher, Tokens: w.tokensM,
		Clock: w.clock, Limiter: w.limiter}, app.AuthConfig{SignupEnabled: true, DummyPHC: "phc:dummy"})
	w.reference = app.NewReference(w.uow, w.refRepo, w.activityLog)
	return w
}

var platformAdmin = app.Principal{PlatformAdmin: true}

func as(p app.Principal) context.Context { return app.WithPrincipal(context.Background(), p) }

// company provisions a company with one admin and returns the admin principal.
func (w *world) company(t *testing.T, name string) (tenancy.CompanyID, app.Principal) {
	t.Helper()
	c, err := w.companiesSvc.Create(as(platformAdmin), name)
	if err != nil {
		t.Fatalf("create company: %v", err)
	}
	id := tenancy.CompanyID(c.ID)
	u, _, err := w.auth.Register(as(platformAdmin), app.RegisterInput{Name: "Admin", Email: "admin@" + strings.ToLower(name) + ".test",
		Password: "correct horse", CompanyID: id, Role: "admin"})
	if err != nil {
		t.Fatalf("register admin: %v", err)
	}
	return id, app.Principal{CompanyID: id, UserID: u.ID, Role: domain.RoleAdmin}
}

func wantCode(t *testing.T, err error, code domain.Code) {
	t.Helper()
	if got := domain.ErrorCode(err); err == nil || got != code {
		t.Fatalf("want error %s, got %v", code, err)
	}
}

func (w *world) userCount() int {
	n := 0
	for _, m := range w.users {
		n += len(m)
	}
	return n
}
