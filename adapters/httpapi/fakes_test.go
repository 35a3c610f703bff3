package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schemata/schemata/adapters/httpapi"
	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/ports/portsmock"
	"github.com/schemata/schemata/tenancy"
)

// fakeWorld is an in-memory tenancy behind the moq fakes of every port, so
// that the handler tests drive the real app services without a database.
type fakeWorld struct {
	mu        sync.Mutex
	nextID    int64
	companies map[tenancy.CompanyID]domain.Company
	users     map[tenancy.CompanyID][]domain.User
	lookup    map[string]tenancy.CompanyID
	refs      map[tenancy.CompanyID]map[domain.RefKind][]domain.RefItem
	invites   map[tenancy.CompanyID][]domain.Invitation
	tokens    map[string]ports.Claims
	failures  map[string]int
	audit     []domain.AuditEvent

	// refGetErr, when set, is what ReferenceRepository.Get returns;
	// refGetPanic makes it panic.
	refGetErr   error
	refGetPanic bool
	pingErr     error
	pingCtxs    []context.Context

	now time.Time

	uow         *portsmock.UnitOfWorkMock
	provisioner *portsmock.ProvisionerMock
	refRepo     *portsmock.ReferenceRepositoryMock
	companyRepo *portsmock.CompanyRepositoryMock
	pinger      *portsmock.PingerMock

	// The catalog repositories: empty mocks (a call panics) unless a test
	// sets the functions it needs before the first request.
	teamRepo       *portsmock.TeamRepositoryMock
	componentRepo  *portsmock.ComponentRepositoryMock
	versionRepo    *portsmock.VersionRepositoryMock
	deploymentRepo *portsmock.DeploymentRepositoryMock
}

// maxFailedLogins is the fake limiter's budget per account; fakeRetryAfter
// is how long it says a blocked account waits.
const (
	maxFailedLogins = 3
	fakeRetryAfter  = 90*time.Second + 500*time.Millisecond
)

type scopeKey struct{}

func scopeOf(ctx context.Context) tenancy.CompanyID {
	id, _ := ctx.Value(scopeKey{}).(tenancy.CompanyID)
	return id
}

func newFakeWorld() *fakeWorld {
	w := &fakeWorld{
		companies: map[tenancy.CompanyID]domain.Company{},
		users:     map[tenancy.CompanyID][]domain.User{},
		lookup:    map[string]tenancy.CompanyID{},
		refs:      map[tenancy.CompanyID]map[domain.RefKind][]domain.RefItem{},
		invites:   map[tenancy.CompanyID][]domain.Invitation{},
		tokens:    map[string]ports.Claims{},
		failures:  map[string]int{},
		now:       time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),

		teamRepo:       &portsmock.TeamRepositoryMock{},
		componentRepo:  &portsmock.ComponentRepositoryMock{},
		versionRepo:    &portsmock.VersionRepositoryMock{},
		deploymentRepo: &portsmock.DeploymentRepositoryMock{},
	}
	scoped := func(ctx context.Context, id tenancy.CompanyID, fn func(context.Context) error) error {
		if !id.Valid() {
			return fmt.Errorf("fake uow: invalid company %d", id)
		}
		return fn(context.WithValue(ctx, scopeKey{}, id))
	}
	w.uow = &portsmock.UnitOfWorkMock{WithinTenantFunc: scoped, ReadTenantFunc: scoped}
	w.provisioner = &portsmock.ProvisionerMock{
		CreateFunc: func(ctx context.Context, name string, within func(context.Context, tenancy.CompanyID) error) (domain.Company, error) {
			w.mu.Lock()
			w.nextID++
			c := domain.Company{ID: w.nextID, Name: name, CreatedAt: w.now}
			w.mu.Unlock()
			id := tenancy.CompanyID(c.ID)
			if within != nil {
				if err := within(context.WithValue(ctx, scopeKey{}, id), id); err != nil {
					return domain.Company{}, err
				}
			}
			w.mu.Lock()
			w.companies[id] = c
			w.mu.Unlock()
			return c, nil
		},
		DeleteFunc: func(ctx context.Context, id tenancy.CompanyID, guard func(context.Context) error) error {
			w.mu.Lock()
			_, ok := w.companies[id]
			w.mu.Unlock()
			if !ok {
				return domain.NotFound("company")
			}
			if err := guard(context.WithValue(ctx, scopeKey{}, id)); err != nil {
				return err
			}
			w.mu.Lock()
			delete(w.companies, id)
			w.mu.Unlock()
			return nil
		},
	}
	w.companyRepo = &portsmock.CompanyRepositoryMock{
		GetFunc: func(_ context.Context, id tenancy.CompanyID) (domain.Company, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			c, ok := w.companies[id]
			if !ok {
				return domain.Company{}, domain.NotFound("company")
			}
			return c, nil
		},
		ListFunc: func(_ context.Context, page domain.Page) ([]domain.Company, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			var out []domain.Company
			for _, c := range w.companies {
				if c.ID > page.After {
					out = append(out, c)
				}
			}
			slices.SortFunc(out, func(a, b domain.Company) int { return int(a.ID - b.ID) })
			return out[:min(len(out), page.Limit)], nil
		},
	}
	w.refRepo = &portsmock.ReferenceRepositoryMock{
		ListFunc: func(ctx context.Context, kind domain.RefKind, page domain.Page) ([]domain.RefItem, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			var out []domain.RefItem
			for _, it := range w.refs[scopeOf(ctx)][kind] {
				if it.ID > page.After {
					out = append(out, it)
				}
			}
			return out[:min(len(out), page.Limit)], nil
		},
		GetFunc: func(ctx context.Context, kind domain.RefKind, id int64) (domain.RefItem, error) {
			if w.refGetPanic {
				panic("fake repository exploded")
			}
			if w.refGetErr != nil {
				return domain.RefItem{}, w.refGetErr
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, it := range w.refs[scopeOf(ctx)][kind] {
				if it.ID == id {
					return it, nil
				}
			}
			return domain.RefItem{}, domain.NotFound(kind.Singular())
		},
		CreateFunc: func(ctx context.Context, kind domain.RefKind, item domain.RefItem) (domain.RefItem, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.addRefLocked(scopeOf(ctx), kind, item)
		},
		UpdateFunc: func(ctx context.Context, kind domain.RefKind, item domain.RefItem) (domain.RefItem, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			items := w.refs[scopeOf(ctx)][kind]
			for i := range items {
				if items[i].ID == item.ID {
					item.UpdatedAt = w.now
					items[i] = item
					return item, nil
				}
			}
			return domain.RefItem{}, domain.NotFound(kind.Singular())
		},
		DeleteFunc: func(ctx context.Context, kind domain.RefKind, id int64) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			items := w.refs[scopeOf(ctx)][kind]
			for i := range items {
				if items[i].ID == id {
					w.refs[scopeOf(ctx)][kind] = slices.Delete(items, i, i+1)
					return nil
				}
			}
			return domain.NotFound(kind.Singular())
		},
	}
	w.pinger = &portsmock.PingerMock{PingFunc: func(ctx context.Context) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.pingCtxs = append(w.pingCtxs, ctx)
		return w.pingErr
	}}
	return w
}

func (w *fakeWorld) addRefLocked(company tenancy.CompanyID, kind domain.RefKind, item domain.RefItem) (domain.RefItem, error) {
	if w.refs[company] == nil {
		w.refs[company] = map[domain.RefKind][]domain.RefItem{}
	}
	for _, it := range w.refs[company][kind] {
		if strings.EqualFold(it.Name, item.Name) {
			return domain.RefItem{}, domain.Conflict("a %s named %q already exists", kind.Singular(), item.Name)
		}
	}
	w.nextID++
	item.ID, item.CreatedAt, item.UpdatedAt = w.nextID, w.now, w.now
	w.refs[company][kind] = append(w.refs[company][kind], item)
	return item, nil
}

// services wires the real app use cases on the fakes.
func (w *fakeWorld) services(signup bool) httpapi.Services {
	users := &portsmock.UserRepositoryMock{
		CreateFunc: func(ctx context.Context, u domain.User) (domain.User, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			c := scopeOf(ctx)
			for _, x := range w.users[c] {
				if x.Email == u.Email {
					return domain.User{}, domain.Conflict("email already registered")
				}
			}
			w.nextID++
			u.ID, u.CreatedAt, u.UpdatedAt = w.nextID, w.now, w.now
			w.users[c] = append(w.users[c], u)
			return u, nil
		},
		GetFunc: func(ctx context.Context, id int64) (domain.User, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, u := range w.users[scopeOf(ctx)] {
				if u.ID == id {
					return u, nil
				}
			}
			return domain.User{}, domain.NotFound("user")
		},
		GetByEmailFunc: func(ctx context.Context, email string) (domain.User, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, u := range w.users[scopeOf(ctx)] {
				if u.Email == email {
					return u, nil
				}
			}
			return domain.User{}, domain.NotFound("user")
		},
		CountFunc: func(ctx context.Context) (int64, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			return int64(len(w.users[scopeOf(ctx)])), nil
		},
	}
	lookup := &portsmock.EmailLookupMock{
		ClaimFunc: func(_ context.Context, email string, company tenancy.CompanyID) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			if _, ok := w.lookup[email]; ok {
				return domain.Conflict("email already registered")
			}
			w.lookup[email] = company
			return nil
		},
		FindFunc: func(_ context.Context, email string) (tenancy.CompanyID, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			c, ok := w.lookup[email]
			if !ok {
				return 0, domain.NotFound("email")
			}
			return c, nil
		},
	}
	dir := &portsmock.TenantDirectoryMock{
		ExistsFunc: func(_ context.Context, id tenancy.CompanyID) (bool, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			_, ok := w.companies[id]
			return ok, nil
		},
		InvalidateFunc: func(context.Context, tenancy.CompanyID) {},
	}
	invitations := &portsmock.InvitationRepositoryMock{
		CreateFunc: func(ctx context.Context, inv domain.Invitation) (domain.Invitation, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.nextID++
			inv.ID, inv.CreatedAt = w.nextID, w.now
			w.invites[scopeOf(ctx)] = append(w.invites[scopeOf(ctx)], inv)
			return inv, nil
		},
		GetByTokenHashForUpdateFunc: func(ctx context.Context, hash []byte) (domain.Invitation, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, inv := range w.invites[scopeOf(ctx)] {
				if string(inv.TokenHash) == string(hash) {
					return inv, nil
				}
			}
			return domain.Invitation{}, domain.NotFound("invitation")
		},
		MarkUsedFunc: func(ctx context.Context, id int64, at time.Time) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			for i, inv := range w.invites[scopeOf(ctx)] {
				if inv.ID == id {
					w.invites[scopeOf(ctx)][i].UsedAt = &at
				}
			}
			return nil
		},
	}
	audit := &portsmock.AuditLogMock{RecordFunc: func(_ context.Context, e domain.AuditEvent) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.audit = append(w.audit, e)
		return nil
	}}
	hasher := &portsmock.PasswordHasherMock{
		HashFunc: func(_ context.Context, pw string) (string, error) { return "phc:" + pw, nil },
		VerifyFunc: func(_ context.Context, pw, phc string) (bool, error) {
			return phc == "phc:"+pw, nil
		},
	}
	tokens := &portsmock.TokenIssuerMock{
		IssueFunc: func(_ context.Context, c ports.Claims) (string, time.Duration, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.nextID++
			tok := fmt.Sprintf("tok-%d", w.nextID)
			w.tokens[tok] = c
			return tok, time.Hour, nil
		},
		VerifyFunc: func(_ context.Context, tok string) (ports.Claims, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			c, ok := w.tokens[tok]
			if !ok {
				return ports.Claims{}, domain.Errorf(domain.CodeUnauthenticated, "invalid or expired token")
			}
			return c, nil
		},
	}
	clock := &portsmock.ClockMock{NowFunc: func() time.Time { return w.now }}
	limiter := &portsmock.LoginLimiterMock{
		AllowFunc: func(_ context.Context, key string) bool {
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.failures[key] < maxFailedLogins
		},
		FailedFunc: func(_ context.Context, key string) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.failures[key]++
		},
		SucceededFunc: func(_ context.Context, key string) {
			w.mu.Lock()
			defer w.mu.Unlock()
			delete(w.failures, key)
		},
		RetryAfterFunc: func(context.Context, string) time.Duration { return fakeRetryAfter },
	}
	activity := &portsmock.ActivityLogMock{RecordFunc: func(context.Context, domain.Activity) error { return nil }}
	auth := app.NewAuth(app.AuthDeps{UoW: w.uow, Directory: dir, Provisioner: w.provisioner, Users: users,
		Lookup: lookup, Invitations: invitations, Audit: audit, Activity: activity, Hasher: hasher, Tokens: tokens, Clock: clock,
		Limiter: limiter}, app.AuthConfig{SignupEnabled: signup, DummyPHC: "phc:dummy"})
	return httpapi.Services{
		Companies:    app.NewCompanies(w.provisioner, w.companyRepo, dir, users, audit),
		Auth:         auth,
		Reference:    app.NewReference(w.uow, w.refRepo, activity),
		Users:        app.NewUsers(w.uow, users, &portsmock.UserAdminMock{}, lookup, hasher, activity, audit, nil),
		Teams:        app.NewTeams(w.uow, w.teamRepo, activity),
		Components:   app.NewComponents(w.uow, w.componentRepo, w.versionRepo, activity),
		Tags:         app.NewTags(w.uow, &portsmock.TagRepositoryMock{}, activity),
		Environments: app.NewEnvironments(w.uow, &portsmock.EnvironmentRepositoryMock{}, activity),
		Deployments:  app.NewDeployments(w.uow, w.deploymentRepo, clock, activity),
		Activity:     app.NewActivity(w.uow, activity),
		Fleet:        app.NewFleet(&portsmock.FleetStatusMock{}),
		Pinger:       w.pinger,
	}
}

// addCompany creates a company directly in the fake store.
func (w *fakeWorld) addCompany(name string) tenancy.CompanyID {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextID++
	id := tenancy.CompanyID(w.nextID)
	w.companies[id] = domain.Company{ID: w.nextID, Name: name, CreatedAt: w.now}
	return id
}

// addUser creates a user with password "password-<email>" and returns an
// access token for it.
func (w *fakeWorld) addUser(company tenancy.CompanyID, email string, role domain.Role) (domain.User, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextID++
	u := domain.User{ID: w.nextID, Name: "User " + email, Email: email, PasswordHash: "phc:password-" + email,
		Role: role, CreatedAt: w.now, UpdatedAt: w.now}
	w.users[company] = append(w.users[company], u)
	w.lookup[email] = company
	tok := fmt.Sprintf("tok-user-%d", u.ID)
	w.tokens[tok] = ports.Claims{UserID: u.ID, CompanyID: company, Role: role, IssuedAt: w.now}
	return u, tok
}

func (w *fakeWorld) addRef(company tenancy.CompanyID, kind domain.RefKind, name string) domain.RefItem {
	w.mu.Lock()
	defer w.mu.Unlock()
	it, err := w.addRefLocked(company, kind, domain.RefItem{Name: name})
	if err != nil {
		panic(err)
	}
	return it
}

// logBuffer collects JSON log lines safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.String()
}

// testEnv is a router over a fake world.
type testEnv struct {
	t       *testing.T
	world   *fakeWorld
	handler http.Handler
	logs    *logBuffer
}

const testAdminToken = "admin-token-0123456789abcdef0123456789abcdef"

func newTestEnv(t *testing.T, cfg httpapi.Config) *testEnv {
	t.Helper()
	w := newFakeWorld()
	logs := &logBuffer{}
	log := slog.New(httpapi.NewLogHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return &testEnv{t: t, world: w, handler: httpapi.NewRouter(cfg, w.services(cfg.SignupEnabled), log), logs: logs}
}

var _ io.Writer = (*logBuffer)(nil)
