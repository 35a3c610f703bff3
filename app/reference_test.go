package app_test

import (
	"testing"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

func ptr(s string) *string { return &s }

func TestReferenceRolesAndIsolation(t *testing.T) {
	w := newWorld(t)
	a, adminA := w.company(t, "A")
	_, adminB := w.company(t, "B")
	viewerA := app.Principal{CompanyID: a, UserID: 1000, Role: domain.RoleViewer}
	userA := app.Principal{CompanyID: a, UserID: 1001, Role: domain.RoleUser}

	items, err := w.reference.List(as(viewerA), domain.CloudProviders, domain.Page{})
	if err != nil || len(items) != 6 {
		t.Fatalf("viewer list: %d %v", len(items), err)
	}
	for _, p := range []app.Principal{viewerA, userA, platformAdmin} {
		_, err := w.reference.Create(as(p), domain.ServiceTypes, "Batch", "")
		wantCode(t, err, domain.CodeForbidden)
	}
	st, err := w.reference.Create(as(adminA), domain.ServiceTypes, " Batch ", "jobs")
	if err != nil || st.Name != "Batch" || st.Description != "jobs" {
		t.Fatalf("create %+v %v", st, err)
	}
	_, err = w.reference.Create(as(adminA), domain.ServiceTypes, "batch", "")
	wantCode(t, err, domain.CodeConflict)

	// Tenant B cannot see, change or delete A's row.
	_, err = w.reference.Get(as(adminB), domain.ServiceTypes, st.ID)
	wantCode(t, err, domain.CodeNotFound)
	_, err = w.reference.Update(as(adminB), domain.ServiceTypes, st.ID, app.RefPatch{Name: ptr("Mine")})
	wantCode(t, err, domain.CodeNotFound)
	wantCode(t, w.reference.Delete(as(adminB), domain.ServiceTypes, st.ID), domain.CodeNotFound)

	up, err := w.reference.Update(as(adminA), domain.ServiceTypes, st.ID, app.RefPatch{Description: ptr("batch jobs")})
	if err != nil || up.Name != "Batch" || up.Description != "batch jobs" {
		t.Fatalf("update %+v %v", up, err)
	}
	_, err = w.reference.Update(as(adminA), domain.ServiceTypes, st.ID, app.RefPatch{Name: ptr("")})
	wantCode(t, err, domain.CodeInvalid)
	wantCode(t, w.reference.Delete(as(userA), domain.ServiceTypes, st.ID), domain.CodeForbidden)
	if err := w.reference.Delete(as(adminA), domain.ServiceTypes, st.ID); err != nil {
		t.Fatal(err)
	}
	_, err = w.reference.Get(as(adminA), domain.ServiceTypes, st.ID)
	wantCode(t, err, domain.CodeNotFound)
	_, err = w.reference.Get(as(adminA), domain.ServiceTypes, -1)
	wantCode(t, err, domain.CodeNotFound)
}

func TestReferenceValidation(t *testing.T) {
	w := newWorld(t)
	_, admin := w.company(t, "A")
	long := make([]byte, domain.MaxDescriptionLen+1)
	for i := range long {
		long[i] = 'x'
	}
	_, err := w.reference.Create(as(admin), domain.CloudProviders, "Hetzner", string(long))
	wantCode(t, err, domain.CodeInvalid)
	_, err = w.reference.Create(as(admin), domain.RefKind("users"), "x", "")
	wantCode(t, err, domain.CodeInternal)
}

func TestReferenceWritesRecordActivity(t *testing.T) {
	w := newWorld(t)
	c, admin := w.company(t, "A")
	st, err := w.reference.Create(as(admin), domain.ServiceTypes, "Batch", "")
	if err != nil {
		t.Fatal(err)
	}
	if a := w.lastActivity(t, c); a.Action != "create" || a.EntityType != "service_type" || a.EntityID != st.ID || a.ActorID != admin.UserID {
		t.Fatalf("create activity %+v", a)
	}
	if _, err := w.reference.Update(as(admin), domain.ServiceTypes, st.ID, app.RefPatch{Name: ptr("Jobs")}); err != nil {
		t.Fatal(err)
	}
	if a := w.lastActivity(t, c); a.Action != "update" || a.Detail["name"] != "Jobs" {
		t.Fatalf("update activity %+v", a)
	}
	if err := w.reference.Delete(as(admin), domain.ServiceTypes, st.ID); err != nil {
		t.Fatal(err)
	}
	if a := w.lastActivity(t, c); a.Action != "delete" || a.EntityID != st.ID {
		t.Fatalf("delete activity %+v", a)
	}
	// A failed write records nothing.
	n := len(w.activityOf(c))
	if _, err := w.reference.Create(as(admin), domain.ServiceTypes, "api", ""); err == nil {
		t.Fatal("duplicate accepted")
	}
	if len(w.activityOf(c)) != n {
		t.Fatal("a failed write recorded activity")
	}
}

func TestRegistrationAndInvitationRecordActivity(t *testing.T) {
	w := newWorld(t)
	c, admin := w.company(t, "A")
	if a := w.lastActivity(t, c); a.EntityType != "user" || a.Actor != "platform-admin" || a.Detail["role"] != "admin" {
		t.Fatalf("registration activity %+v", a)
	}
	inv, err := w.auth.Invite(as(admin), "new@a.test", "user")
	if err != nil {
		t.Fatal(err)
	}
	if a := w.lastActivity(t, c); a.EntityType != "invitation" || a.EntityID != inv.Invitation.ID || a.ActorID != admin.UserID {
		t.Fatalf("invitation activity %+v", a)
	}
}
