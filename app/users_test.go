package app_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

func TestUsersListAndGet(t *testing.T) {
	s := seed(t)
	w := s.w
	users, err := w.usersSvc.List(as(s.admin), domain.Page{Limit: 2})
	if err != nil || len(users) != 2 || users[0].ID != s.admin.UserID || users[1].ID != s.user.UserID {
		t.Fatalf("list %+v %v", users, err)
	}
	if calls := w.userRepo.ListCalls(); calls[len(calls)-1].Page.Limit != 2 {
		t.Fatalf("page %+v", calls[len(calls)-1].Page)
	}
	if _, err := w.usersSvc.List(as(s.admin), domain.Page{Limit: 10_000}); err != nil {
		t.Fatal(err)
	}
	if calls := w.userRepo.ListCalls(); calls[len(calls)-1].Page.Limit != domain.MaxPageSize {
		t.Fatalf("page not clamped: %+v", calls[len(calls)-1].Page)
	}
	u, err := w.usersSvc.Get(as(s.viewer), s.viewer.UserID)
	if err != nil || u.Email != "viewer@acme.test" {
		t.Fatalf("get self %+v %v", u, err)
	}
	_, err = w.usersSvc.Get(as(s.viewer), s.admin.UserID)
	wantCode(t, err, domain.CodeForbidden)
	_, err = w.usersSvc.Get(as(s.admin), 0)
	wantCode(t, err, domain.CodeNotFound)

	// Another tenant's user id is absent here.
	_, adminB := w.company(t, "Beta")
	_, err = w.usersSvc.Get(as(adminB), s.user.UserID)
	wantCode(t, err, domain.CodeNotFound)
	err = w.usersSvc.Delete(as(adminB), s.user.UserID)
	wantCode(t, err, domain.CodeNotFound)
	if _, ok := w.users[s.c][s.user.UserID]; !ok {
		t.Fatal("cross-tenant delete removed the user")
	}
}

func TestUsersRenameSelfButNotOwnRole(t *testing.T) {
	s := seed(t)
	w := s.w
	u, err := w.usersSvc.Update(as(s.user), s.user.UserID, app.UserPatch{Name: ptr("  Renamed  ")})
	if err != nil || u.Name != "Renamed" || u.Role != domain.RoleUser {
		t.Fatalf("rename %+v %v", u, err)
	}
	for _, role := range []string{"admin", "user", "viewer"} {
		_, err = w.usersSvc.Update(as(s.user), s.user.UserID, app.UserPatch{Role: ptr(role)})
		wantCode(t, err, domain.CodeForbidden)
	}
	_, err = w.usersSvc.Update(as(s.user), s.viewer.UserID, app.UserPatch{Name: ptr("x")})
	wantCode(t, err, domain.CodeForbidden)
	if w.users[s.c][s.user.UserID].Role != domain.RoleUser || w.users[s.c][s.viewer.UserID].Name == "x" {
		t.Fatal("a refused update changed something")
	}
	a := w.lastActivity(t, s.c)
	if a.Action != "update" || a.EntityType != "user" || a.EntityID != s.user.UserID || a.Detail["name"] != "Renamed" {
		t.Fatalf("activity %+v", a)
	}
}

func TestUsersUpdateValidationAndPatchSemantics(t *testing.T) {
	s := seed(t)
	w := s.w
	before := len(w.activityOf(s.c))
	_, err := w.usersSvc.Update(as(s.admin), s.user.UserID, app.UserPatch{Name: ptr(" ")})
	wantField(t, err, "name")
	_, err = w.usersSvc.Update(as(s.admin), s.user.UserID, app.UserPatch{Role: ptr("root")})
	wantField(t, err, "role")
	_, err = w.usersSvc.Update(as(s.admin), 987654, app.UserPatch{Name: ptr("x")})
	wantCode(t, err, domain.CodeNotFound)
	if len(w.activityOf(s.c)) != before || len(w.userAdmin.UpdateCalls()) != 0 {
		t.Fatal("a bad update wrote something")
	}
	// Only the fields set change.
	u, err := w.usersSvc.Update(as(s.admin), s.user.UserID, app.UserPatch{Role: ptr("viewer")})
	if err != nil || u.Role != domain.RoleViewer || u.Name != "M user@acme.test" || u.PasswordHash != "phc:password1" {
		t.Fatalf("role change %+v %v", u, err)
	}
	e := w.audit[len(w.audit)-1]
	if e.Action != "user.role_changed" || e.Detail["from"] != "user" || e.Detail["to"] != "viewer" || e.Actor != s.admin.Actor() ||
		e.CompanyID != int64(s.c) {
		t.Fatalf("audit %+v", e)
	}
	// A rename is not a role change.
	n := len(w.audit)
	if _, err := w.usersSvc.Update(as(s.admin), s.user.UserID, app.UserPatch{Name: ptr("N")}); err != nil {
		t.Fatal(err)
	}
	if len(w.audit) != n {
		t.Fatalf("rename audited as a role change: %+v", w.audit[n:])
	}
}

func TestLastAdminCannotBeDemotedOrDeleted(t *testing.T) {
	s := seed(t)
	w := s.w
	before := len(w.activityOf(s.c))
	for _, role := range []string{"user", "viewer"} {
		_, err := w.usersSvc.Update(as(s.admin), s.admin.UserID, app.UserPatch{Role: ptr(role)})
		wantCode(t, err, domain.CodeConflict)
	}
	wantCode(t, w.usersSvc.Delete(as(s.admin), s.admin.UserID), domain.CodeConflict)
	if u := w.users[s.c][s.admin.UserID]; u.Role != domain.RoleAdmin {
		t.Fatalf("last admin demoted: %+v", u)
	}
	if _, ok := w.lookup["admin@acme.test"]; !ok || len(w.activityOf(s.c)) != before {
		t.Fatal("a refused change wrote something")
	}
	// The check runs on the locked admin rows inside the unit of work.
	if len(w.userAdmin.LockAdminsCalls()) != 3 {
		t.Fatalf("LockAdmins calls: %d", len(w.userAdmin.LockAdminsCalls()))
	}
	// Promoting needs no lock and keeping the admin role is no demotion.
	if _, err := w.usersSvc.Update(as(s.admin), s.admin.UserID, app.UserPatch{Role: ptr("admin"), Name: ptr("Boss")}); err != nil {
		t.Fatal(err)
	}
}

func TestCompanyWithTwoAdmins(t *testing.T) {
	s := seed(t)
	w := s.w
	second := w.member(t, s.c, "second@acme.test", domain.RoleAdmin)
	// One admin may demote itself while another remains …
	if _, err := w.usersSvc.Update(as(second), second.UserID, app.UserPatch{Role: ptr("user")}); err != nil {
		t.Fatal(err)
	}
	// … but then the other is the last one.
	_, err := w.usersSvc.Update(as(s.admin), s.admin.UserID, app.UserPatch{Role: ptr("user")})
	wantCode(t, err, domain.CodeConflict)

	third := w.member(t, s.c, "third@acme.test", domain.RoleAdmin)
	if err := w.usersSvc.Delete(as(third), s.admin.UserID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, w.usersSvc.Delete(as(third), third.UserID), domain.CodeConflict)
	if _, ok := w.users[s.c][third.UserID]; !ok {
		t.Fatal("last admin deleted")
	}
}

// Two admins demoting each other at once: the store serialises the units of
// work (LockAdmins is FOR UPDATE), and exactly one demotion wins.
func TestConcurrentDemotionsLeaveOneAdmin(t *testing.T) {
	s := seed(t)
	w := s.w
	second := w.member(t, s.c, "second@acme.test", domain.RoleAdmin)
	var mu sync.Mutex
	within := w.uow.WithinTenantFunc
	w.uow.WithinTenantFunc = func(ctx context.Context, id tenancy.CompanyID, fn func(ctx context.Context) error) error {
		mu.Lock()
		defer mu.Unlock()
		return within(ctx, id, fn)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, pair := range [][2]app.Principal{{s.admin, second}, {second, s.admin}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.usersSvc.Update(as(pair[0]), pair[1].UserID, app.UserPatch{Role: ptr("viewer")})
		}()
	}
	wg.Wait()
	ok, conflicts := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case domain.IsCode(err, domain.CodeConflict):
			conflicts++
		}
	}
	admins := 0
	for _, u := range w.users[s.c] {
		if u.Role == domain.RoleAdmin {
			admins++
		}
	}
	if ok != 1 || conflicts != 1 || admins != 1 {
		t.Fatalf("ok=%d conflicts=%d admins=%d errs=%v", ok, conflicts, admins, errs)
	}
}

func TestUserDeleteReleasesLookupInTheSameUnitOfWork(t *testing.T) {
	s := seed(t)
	w := s.w
	if err := w.usersSvc.Delete(as(s.admin), s.user.UserID); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.users[s.c][s.user.UserID]; ok {
		t.Fatal("user still there")
	}
	if _, ok := w.lookup["user@acme.test"]; ok {
		t.Fatal("lookup row not released")
	}
	if w.cat[s.c].members[[2]int64{s.team.ID, s.user.UserID}] {
		t.Fatal("membership survived the user")
	}
	e := w.audit[len(w.audit)-1]
	if e.Action != "user.deleted" || e.Target != "user:"+itoa(s.user.UserID) || e.Detail["email"] != "user@acme.test" {
		t.Fatalf("audit %+v", e)
	}
	if a := w.lastActivity(t, s.c); a.Action != "delete" || a.EntityType != "user" || a.EntityID != s.user.UserID {
		t.Fatalf("activity %+v", a)
	}
	wantCode(t, w.usersSvc.Delete(as(s.admin), s.user.UserID), domain.CodeNotFound)

	// When the release fails, the user row comes back: one unit of work.
	w.lookupM.ReleaseFunc = func(ctx context.Context, email string) error { return errors.New("connection lost") }
	before := len(w.audit)
	if err := w.usersSvc.Delete(as(s.admin), s.viewer.UserID); err == nil {
		t.Fatal("want error")
	}
	if _, ok := w.users[s.c][s.viewer.UserID]; !ok || len(w.audit) != before {
		t.Fatal("a failed delete left changes behind")
	}
}

func TestChangePassword(t *testing.T) {
	s := seed(t)
	w := s.w
	hashedInTx := false
	hash := w.hasher.HashFunc
	w.hasher.HashFunc = func(ctx context.Context, password string) (string, error) {
		if _, ok := tenantOf(ctx); ok {
			hashedInTx = true
		}
		return hash(ctx, password)
	}
	ctx := as(s.user)
	before := len(w.activityOf(s.c))
	err := w.usersSvc.ChangePassword(ctx, "wrong password", "new password 1")
	wantField(t, err, "current_password")
	wantField(t, w.usersSvc.ChangePassword(ctx, "", "new password 1"), "current_password")
	wantField(t, w.usersSvc.ChangePassword(ctx, "password1", "short"), "new_password")
	if w.users[s.c][s.user.UserID].PasswordHash != "phc:password1" || len(w.activityOf(s.c)) != before || len(w.hasher.HashCalls()) != 3 {
		t.Fatalf("a refused change wrote or hashed something (hash calls %d)", len(w.hasher.HashCalls()))
	}
	if e := w.audit[len(w.audit)-1]; e.Action != "password.change_failed" || e.Target != "user:"+itoa(s.user.UserID) {
		t.Fatalf("failed change not audited: %+v", e)
	}
	if err := w.usersSvc.ChangePassword(ctx, "password1", "new password 1"); err != nil {
		t.Fatal(err)
	}
	if hashedInTx {
		t.Fatal("the password was hashed inside the unit of work")
	}
	if got := w.users[s.c][s.user.UserID].PasswordHash; got != "phc:new password 1" {
		t.Fatalf("hash %q", got)
	}
	if _, err := w.auth.Login(context.Background(), "user@acme.test", "new password 1"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if e := w.audit[len(w.audit)-2]; e.Action != "user.password_changed" {
		t.Fatalf("audit %+v", w.audit[len(w.audit)-2:])
	}
	if a := w.lastActivity(t, s.c); a.Action != "change_password" || a.EntityID != s.user.UserID || a.Actor != s.user.Actor() {
		t.Fatalf("activity %+v", a)
	}
}

func TestChangePasswordRaceIsAConflict(t *testing.T) {
	s := seed(t)
	w := s.w
	// Between verification and the write, another session changes the password.
	verify := w.hasher.VerifyFunc
	w.hasher.VerifyFunc = func(ctx context.Context, password, phc string) (bool, error) {
		ok, err := verify(ctx, password, phc)
		u := w.users[s.c][s.user.UserID]
		u.PasswordHash = "phc:someone else's"
		w.users[s.c][s.user.UserID] = u
		return ok, err
	}
	err := w.usersSvc.ChangePassword(as(s.user), "password1", "new password 1")
	wantCode(t, err, domain.CodeConflict)
	if w.users[s.c][s.user.UserID].PasswordHash != "phc:someone else's" {
		t.Fatal("the concurrent change was overwritten")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
