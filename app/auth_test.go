package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

func TestRegisterByPlatformAdminAnyRole(t *testing.T) {
	w := newWorld(t)
	id, _ := w.company(t, "Acme")
	u, _, err := w.auth.Register(as(platformAdmin), app.RegisterInput{Name: "Vi", Email: "  Vi@Acme.TEST ", Password: "password1", CompanyID: id, Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "vi@acme.test" || u.Role != domain.RoleViewer || u.PasswordHash != "phc:password1" {
		t.Fatalf("unexpected user %+v", u)
	}
	if w.lookup["vi@acme.test"] != id {
		t.Fatalf("lookup row missing: %v", w.lookup)
	}
	last := w.audit[len(w.audit)-1]
	if last.Action != "user.registered" || last.Actor != "platform-admin" || last.CompanyID != int64(id) {
		t.Fatalf("audit event %+v", last)
	}
}

func TestRegisterDefaultsToUserRole(t *testing.T) {
	w := newWorld(t)
	_, admin := w.company(t, "Acme")
	u, _, err := w.auth.Register(as(admin), app.RegisterInput{Name: "U", Email: "u@acme.test", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != domain.RoleUser {
		t.Fatalf("role = %s", u.Role)
	}
	if w.lookup["u@acme.test"] != admin.CompanyID {
		t.Fatal("registered into the wrong company")
	}
}

func TestRegisterRefusals(t *testing.T) {
	w := newWorld(t)
	a, adminA := w.company(t, "A")
	b, _ := w.company(t, "B")
	userA := app.Principal{CompanyID: a, UserID: 99, Role: domain.RoleUser}
	viewerA := app.Principal{CompanyID: a, UserID: 98, Role: domain.RoleViewer}
	cases := []struct {
		name string
		ctx  context.Context
		in   app.RegisterInput
		code domain.Code
	}{
		{"anonymous", context.Background(), app.RegisterInput{CompanyID: a}, domain.CodeUnauthenticated},
		{"admin into another company", as(adminA), app.RegisterInput{CompanyID: b}, domain.CodeForbidden},
		{"user chooses admin role", as(userA), app.RegisterInput{CompanyID: a, Role: "admin"}, domain.CodeForbidden},
		{"user chooses own role", as(userA), app.RegisterInput{CompanyID: a, Role: "user"}, domain.CodeForbidden},
		{"viewer", as(viewerA), app.RegisterInput{CompanyID: a}, domain.CodeForbidden},
		{"platform admin without company", as(platformAdmin), app.RegisterInput{}, domain.CodeInvalid},
		{"platform admin, absent company", as(platformAdmin), app.RegisterInput{CompanyID: 9999}, domain.CodeInvalid},
		{"bad role", as(adminA), app.RegisterInput{CompanyID: a, Role: "root"}, domain.CodeInvalid},
		{"forged invitation", context.Background(), app.RegisterInput{InvitationToken: "1.abc"}, domain.CodeUnauthenticated},
	}
	before := w.userCount()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Name, tc.in.Email, tc.in.Password = "New", "new@x.test", "password1"
			_, _, err := w.auth.Register(tc.ctx, tc.in)
			wantCode(t, err, tc.code)
		})
	}
	if w.userCount() != before || len(w.lookup) != 2 {
		t.Fatalf("a refused registration wrote something: users %d→%d, lookup %v", before, w.userCount(), w.lookup)
	}
	if len(w.hasher.HashCalls()) != 2 {
		t.Fatalf("refused registrations must not hash passwords; hash calls = %d", len(w.hasher.HashCalls()))
	}
	found := false
	for _, e := range w.audit {
		if e.Action == "register.cross_tenant_denied" {
			found = true
		}
	}
	if !found {
		t.Fatal("cross-tenant attempt not audited")
	}
}

func TestRegisterValidation(t *testing.T) {
	w := newWorld(t)
	_, admin := w.company(t, "Acme")
	cases := map[string]struct {
		in    app.RegisterInput
		field string
	}{
		"empty name":     {app.RegisterInput{Email: "a@b.test", Password: "password1"}, "name"},
		"bad email":      {app.RegisterInput{Name: "n", Email: "not-an-email", Password: "password1"}, "email"},
		"email w/ name":  {app.RegisterInput{Name: "n", Email: "Bob <b@b.test>", Password: "password1"}, "email"},
		"short password": {app.RegisterInput{Name: "n", Email: "a@b.test", Password: "short"}, "password"},
		"control chars":  {app.RegisterInput{Name: "a\x00b", Email: "a@b.test", Password: "password1"}, "name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := w.auth.Register(as(admin), tc.in)
			wantCode(t, err, domain.CodeInvalid)
			if de := err.(*domain.Error); de.Field != tc.field {
				t.Fatalf("field = %q, want %q", de.Field, tc.field)
			}
		})
	}
}

func TestRegisterDuplicateEmailAnywhere(t *testing.T) {
	w := newWorld(t)
	_, adminA := w.company(t, "A")
	_, adminB := w.company(t, "B")
	if _, _, err := w.auth.Register(as(adminA), app.RegisterInput{Name: "x", Email: "dup@x.test", Password: "password1"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := w.auth.Register(as(adminB), app.RegisterInput{Name: "x", Email: "DUP@x.test", Password: "password1"})
	wantCode(t, err, domain.CodeConflict)
}

func TestRegisterRollsBackWhenLookupClaimFails(t *testing.T) {
	w := newWorld(t)
	_, admin := w.company(t, "A")
	// The early check passes, but another registration wins the race.
	w.lookupM.FindFunc = func(ctx context.Context, email string) (tenancy.CompanyID, error) {
		return 0, domain.NotFound("email")
	}
	w.lookup["race@x.test"] = 77
	before := w.userCount()
	_, _, err := w.auth.Register(as(admin), app.RegisterInput{Name: "x", Email: "race@x.test", Password: "password1"})
	wantCode(t, err, domain.CodeConflict)
	if w.userCount() != before {
		t.Fatal("tenant user row survived a failed lookup claim")
	}
}

func TestInvitationFlow(t *testing.T) {
	w := newWorld(t)
	id, admin := w.company(t, "Acme")
	issued, err := w.auth.Invite(as(admin), "New@Acme.test", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(issued.Token, id.String()+".") || issued.Invitation.Email != "new@acme.test" {
		t.Fatalf("issued %+v", issued)
	}
	stored := w.invites[id][issued.Invitation.ID]
	if strings.Contains(string(stored.TokenHash), issued.Token[len(id.String())+1:]) {
		t.Fatal("the token is stored in clear")
	}
	// wrong email
	_, _, err = w.auth.Register(context.Background(), app.RegisterInput{Name: "n", Email: "other@acme.test", Password: "password1", InvitationToken: issued.Token})
	wantCode(t, err, domain.CodeForbidden)
	// role not the invitation's
	_, _, err = w.auth.Register(context.Background(), app.RegisterInput{Name: "n", Email: "new@acme.test", Password: "password1", InvitationToken: issued.Token, Role: "admin"})
	wantCode(t, err, domain.CodeInvalid)
	// company not the invitation's
	_, _, err = w.auth.Register(context.Background(), app.RegisterInput{Name: "n", Email: "new@acme.test", Password: "password1", InvitationToken: issued.Token, CompanyID: id + 1})
	wantCode(t, err, domain.CodeInvalid)
	u, _, err := w.auth.Register(context.Background(), app.RegisterInput{Name: "n", Email: "new@acme.test", Password: "password1", InvitationToken: issued.Token})
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != domain.RoleViewer || w.lookup["new@acme.test"] != id {
		t.Fatalf("invited user %+v", u)
	}
	// single use
	w.lookupM.FindFunc = func(ctx context.Context, email string) (tenancy.CompanyID, error) { return 0, domain.NotFound("email") }
	_, _, err = w.auth.Register(context.Background(), app.RegisterInput{Name: "n", Email: "new@acme.test", Password: "password1", InvitationToken: issued.Token})
	wantCode(t, err, domain.CodeUnauthenticated)
}

func TestInvitationExpires(t *testing.T) {
	w := newWorld(t)
	_, admin := w.company(t, "Acme")
	issued, err := w.auth.Invite(as(admin), "late@acme.test", "user")
	if err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(72*time.Hour + time.Second)
	_, _, err = w.auth.Register(context.Background(), app.RegisterInput{Name: "n", Email: "late@acme.test", Password: "password1", InvitationToken: issued.Token})
	wantCode(t, err, domain.CodeUnauthenticated)
	if _, ok := w.lookup["late@acme.test"]; ok {
		t.Fatal("expired invitation registered a user")
	}
}

func TestInvitationTokenOfAnotherTenantIsRefused(t *testing.T) {
	w := newWorld(t)
	a, adminA := w.company(t, "A")
	b, _ := w.company(t, "B")
	issued, err := w.auth.Invite(as(adminA), "x@a.test", "admin")
	if err != nil {
		t.Fatal(err)
	}
	// Re-route the secret to tenant B: the hash is not in B's schema.
	forged := b.String() + issued.Token[len(a.String()):]
	_, _, err = w.auth.Register(context.Background(), app.RegisterInput{Name: "n", Email: "x@a.test", Password: "password1", InvitationToken: forged})
	wantCode(t, err, domain.CodeUnauthenticated)
}

func TestInviteRequiresTenantAdmin(t *testing.T) {
	w := newWorld(t)
	id, admin := w.company(t, "Acme")
	_, err := w.auth.Invite(as(app.Principal{CompanyID: id, UserID: 5, Role: domain.RoleUser}), "x@y.test", "viewer")
	wantCode(t, err, domain.CodeForbidden)
	_, err = w.auth.Invite(as(platformAdmin), "x@y.test", "viewer")
	wantCode(t, err, domain.CodeForbidden)
	_, err = w.auth.Invite(as(admin), "x@y.test", "")
	wantCode(t, err, domain.CodeInvalid)
	_, err = w.auth.Invite(as(admin), "admin@acme.test", "user")
	wantCode(t, err, domain.CodeConflict)
}

func TestLoginSameAnswerForUnknownEmailAndWrongPassword(t *testing.T) {
	w := newWorld(t)
	w.company(t, "Acme")
	tok, err := w.auth.Login(context.Background(), "ADMIN@acme.test", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Token == "" || tok.ExpiresIn != time.Hour {
		t.Fatalf("token %+v", tok)
	}
	_, errWrong := w.auth.Login(context.Background(), "admin@acme.test", "wrong password")
	_, errUnknown := w.auth.Login(context.Background(), "nobody@acme.test", "wrong password")
	wantCode(t, errWrong, domain.CodeUnauthenticated)
	wantCode(t, errUnknown, domain.CodeUnauthenticated)
	if errWrong.Error() != errUnknown.Error() {
		t.Fatalf("answers differ: %q vs %q", errWrong, errUnknown)
	}
	// Both paths verified a password exactly once (unknown email against the dummy hash).
	calls := w.hasher.VerifyCalls()
	if len(calls) != 3 || calls[2].Phc != "phc:dummy" {
		t.Fatalf("verify calls %+v", calls)
	}
}

func TestLoginRateLimitedPerAccount(t *testing.T) {
	w := newWorld(t)
	w.company(t, "Acme")
	for i := 0; i < 3; i++ {
		_, err := w.auth.Login(context.Background(), "admin@acme.test", "nope")
		wantCode(t, err, domain.CodeUnauthenticated)
	}
	_, err := w.auth.Login(context.Background(), "admin@acme.test", "correct horse")
	wantCode(t, err, domain.CodeTooManyRequests)
	// another account is unaffected
	_, err = w.auth.Login(context.Background(), "other@acme.test", "x")
	wantCode(t, err, domain.CodeUnauthenticated)
	var fails int
	for _, e := range w.audit {
		if e.Action == "login.failed" {
			fails++
		}
	}
	if fails != 4 {
		t.Fatalf("failed logins audited: %d", fails)
	}
}

func TestAuthenticate(t *testing.T) {
	w := newWorld(t)
	id, _ := w.company(t, "Acme")
	tok, err := w.auth.Login(context.Background(), "admin@acme.test", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.auth.Authenticate(context.Background(), tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if p.CompanyID != id || p.Role != domain.RoleAdmin || p.PlatformAdmin {
		t.Fatalf("principal %+v", p)
	}
	// The role comes from the database, not the token.
	u := w.users[id][p.UserID]
	u.Role = domain.RoleViewer
	w.users[id][p.UserID] = u
	p, _ = w.auth.Authenticate(context.Background(), tok.Token)
	if p.Role != domain.RoleViewer {
		t.Fatalf("stale role %s", p.Role)
	}
	// A deleted user's token is refused.
	delete(w.users[id], p.UserID)
	_, err = w.auth.Authenticate(context.Background(), tok.Token)
	wantCode(t, err, domain.CodeUnauthenticated)
	// A deleted company's token is refused.
	delete(w.companies, id)
	_, err = w.auth.Authenticate(context.Background(), tok.Token)
	wantCode(t, err, domain.CodeUnauthenticated)
	_, err = w.auth.Authenticate(context.Background(), "garbage")
	wantCode(t, err, domain.CodeUnauthenticated)
}

func TestMe(t *testing.T) {
	w := newWorld(t)
	id, admin := w.company(t, "Acme")
	u, c, err := w.auth.Me(as(admin))
	if err != nil || c != id || u.Email != "admin@acme.test" {
		t.Fatalf("me: %+v %d %v", u, c, err)
	}
	_, _, err = w.auth.Me(context.Background())
	wantCode(t, err, domain.CodeUnauthenticated)
	_, _, err = w.auth.Me(as(platformAdmin))
	wantCode(t, err, domain.CodeForbidden)
}

func TestSignupCreatesCompanyAndAdminTogether(t *testing.T) {
	w := newWorld(t)
	tok, err := w.auth.Signup(context.Background(), app.SignupInput{CompanyName: "Newco", Name: "Founder", Email: "f@newco.test", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.User.Role != domain.RoleAdmin || w.lookup["f@newco.test"] != tok.CompanyID || len(w.companies) != 1 {
		t.Fatalf("signup %+v", tok)
	}
	// Failure inside the transaction leaves no company behind.
	w.auditM.RecordFunc = func(ctx context.Context, e domain.AuditEvent) error { return fmt.Errorf("disk full") }
	_, err = w.auth.Signup(context.Background(), app.SignupInput{CompanyName: "Other", Name: "F", Email: "g@other.test", Password: "password1"})
	if err == nil {
		t.Fatal("want error")
	}
	if len(w.companies) != 1 || len(w.lookup) != 1 {
		t.Fatalf("failed signup left rows: %v %v", w.companies, w.lookup)
	}
	// Existing email: conflict, no company created.
	w.auditM.RecordFunc = func(ctx context.Context, e domain.AuditEvent) error { return nil }
	_, err = w.auth.Signup(context.Background(), app.SignupInput{CompanyName: "Third", Name: "F", Email: "F@newco.test", Password: "password1"})
	wantCode(t, err, domain.CodeConflict)
	if len(w.companies) != 1 {
		t.Fatal("conflicting signup created a company")
	}
}

func TestSignupDisabled(t *testing.T) {
	w := newWorld(t)
	auth := app.NewAuth(app.AuthDeps{UoW: w.uow, Directory: w.dir, Provisioner: w.prov, Users: w.userRepo, Lookup: w.lookupM,
		Invitations: w.invRepo, Audit: w.auditM, Hasher: w.hasher, Tokens: w.tokensM, Clock: w.clock, Limiter: w.limiter},
		app.AuthConfig{SignupEnabled: false})
	_, err := auth.Signup(context.Background(), app.SignupInput{CompanyName: "N", Name: "F", Email: "f@n.test", Password: "password1"})
	wantCode(t, err, domain.CodeForbidden)
	if len(w.prov.CreateCalls()) != 0 {
		t.Fatal("disabled signup provisioned a company")
	}
}

func TestSignupValidation(t *testing.T) {
	w := newWorld(t)
	_, err := w.auth.Signup(context.Background(), app.SignupInput{CompanyName: " ", Name: "F", Email: "f@n.test", Password: "password1"})
	wantCode(t, err, domain.CodeInvalid)
	if de := err.(*domain.Error); de.Field != "company_name" {
		t.Fatalf("field %q", de.Field)
	}
}

func TestConcurrentRegistrationsAreSerialisedByTheStore(t *testing.T) {
	// The app holds no lock of its own: uniqueness is the store's job. Here
	// the fake serialises whole units of work, and exactly one of 16
	// concurrent registrations of one email wins.
	w := newWorld(t)
	_, admin := w.company(t, "Acme")
	var mu sync.Mutex
	within := w.uow.WithinTenantFunc
	w.uow.WithinTenantFunc = func(ctx context.Context, id tenancy.CompanyID, fn func(ctx context.Context) error) error {
		mu.Lock()
		defer mu.Unlock()
		return within(ctx, id, fn)
	}
	find := w.lookupM.FindFunc
	w.lookupM.FindFunc = func(ctx context.Context, email string) (tenancy.CompanyID, error) {
		mu.Lock()
		defer mu.Unlock()
		return find(ctx, email)
	}
	var wg sync.WaitGroup
	var okCount, conflicts int
	var cmu sync.Mutex
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := w.auth.Register(as(admin), app.RegisterInput{Name: "x", Email: "same@acme.test", Password: "password1"})
			cmu.Lock()
			defer cmu.Unlock()
			switch {
			case err == nil:
				okCount++
			case domain.IsCode(err, domain.CodeConflict):
				conflicts++
			default:
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	wg.Wait()
	if okCount != 1 || conflicts != 15 {
		t.Fatalf("ok=%d conflicts=%d", okCount, conflicts)
	}
}

func TestRegisterReturnsTheCompany(t *testing.T) {
	w := newWorld(t)
	a, adminA := w.company(t, "A")
	_, c, err := w.auth.Register(as(adminA), app.RegisterInput{Name: "x", Email: "x@a.test", Password: "password1"})
	if err != nil || c != a {
		t.Fatalf("admin registration: company %d, %v", c, err)
	}
	issued, err := w.auth.Invite(as(adminA), "inv@a.test", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	_, c, err = w.auth.Register(context.Background(), app.RegisterInput{Name: "i", Email: "inv@a.test", Password: "password1",
		InvitationToken: issued.Token})
	if err != nil || c != a {
		t.Fatalf("invited registration: company %d, %v", c, err)
	}
	u, c, err := w.auth.Register(as(adminA), app.RegisterInput{Name: "x", Email: "x@a.test", Password: "password1"})
	wantCode(t, err, domain.CodeConflict)
	if c != 0 || u.ID != 0 {
		t.Fatalf("a failed registration returned %+v in %d", u, c)
	}
}

func TestAccessTokenCompany(t *testing.T) {
	w := newWorld(t)
	tok, err := w.auth.Signup(context.Background(), app.SignupInput{CompanyName: "Newco", Name: "F", Email: "f@newco.test", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	want := w.companies[tok.CompanyID]
	if tok.Company != want || tok.Company.Name != "Newco" || tok.Company.CreatedAt.IsZero() {
		t.Fatalf("signup company %+v, want %+v", tok.Company, want)
	}
	tok, err = w.auth.Login(context.Background(), "f@newco.test", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Company != (domain.Company{ID: int64(tok.CompanyID)}) {
		t.Fatalf("login company %+v", tok.Company)
	}
}

func TestLoginRateLimitCarriesRetryAfter(t *testing.T) {
	w := newWorld(t)
	w.company(t, "Acme")
	w.retryAfter = 42 * time.Second
	for i := 0; i < 3; i++ {
		_, err := w.auth.Login(context.Background(), "admin@acme.test", "nope")
		if _, ok := app.RetryAfter(err); ok {
			t.Fatalf("a wrong password is not rate limited: %v", err)
		}
	}
	_, err := w.auth.Login(context.Background(), " ADMIN@acme.test", "correct horse")
	wantCode(t, err, domain.CodeTooManyRequests)
	if d, ok := app.RetryAfter(err); !ok || d != 42*time.Second {
		t.Fatalf("RetryAfter = %v, %v", d, ok)
	}
	if calls := w.limiter.RetryAfterCalls(); len(calls) != 1 || calls[0].Key != "admin@acme.test" {
		t.Fatalf("limiter asked %+v", calls)
	}
	var de *domain.Error
	var rl *app.RateLimitedError
	if !errors.As(err, &de) || de.Message != "too many failed logins for this account; try again later" || !errors.As(err, &rl) {
		t.Fatalf("error shape %#v", err)
	}
	// A limiter that answers 0 while blocking still gives a positive wait.
	w.retryAfter = 0
	_, err = w.auth.Login(context.Background(), "admin@acme.test", "correct horse")
	if d, ok := app.RetryAfter(err); !ok || d != time.Second {
		t.Fatalf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := app.RetryAfter(nil); ok {
		t.Fatal("nil error has a retry-after")
	}
	if _, ok := app.RetryAfter(domain.Errorf(domain.CodeTooManyRequests, "x")); ok {
		t.Fatal("an error without the cause has a retry-after")
	}
}
