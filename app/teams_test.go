package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

func TestTeamCreateValidationAndConflict(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	before := len(w.activityOf(s.c))
	_, err := w.teams.Create(ctx, "  ", "")
	wantField(t, err, "name")
	_, err = w.teams.Create(ctx, "ok", strings.Repeat("x", domain.MaxDescriptionLen+1))
	wantField(t, err, "description")
	_, err = w.teams.Create(ctx, "PAYMENTS", "")
	wantCode(t, err, domain.CodeConflict)
	if len(w.activityOf(s.c)) != before || len(w.cat[s.c].teams) != 2 {
		t.Fatal("a refused create wrote something")
	}
	team, err := w.teams.Create(ctx, " Search ", "finds things")
	if err != nil || team.Name != "Search" || team.Description != "finds things" || team.ID <= 0 {
		t.Fatalf("create %+v %v", team, err)
	}
	a := w.lastActivity(t, s.c)
	if a.Action != "create" || a.EntityType != "team" || a.EntityID != team.ID || a.Actor != s.user.Actor() || a.ActorID != s.user.UserID {
		t.Fatalf("activity %+v", a)
	}
}

func TestTeamPatch(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	// unchanged fields stay
	team, err := w.teams.Update(ctx, s.team.ID, app.TeamPatch{Description: ptr("")})
	if err != nil || team.Name != "Payments" || team.Description != "" {
		t.Fatalf("patch description %+v %v", team, err)
	}
	team, err = w.teams.Update(ctx, s.team.ID, app.TeamPatch{Name: ptr("Billing")})
	if err != nil || team.Name != "Billing" || team.Description != "" {
		t.Fatalf("patch name %+v %v", team, err)
	}
	before := len(w.activityOf(s.c))
	_, err = w.teams.Update(ctx, s.team.ID, app.TeamPatch{Name: ptr(""), Description: ptr("x")})
	wantField(t, err, "name")
	_, err = w.teams.Update(ctx, s.team.ID, app.TeamPatch{Name: ptr("idle")})
	wantCode(t, err, domain.CodeConflict)
	_, err = w.teams.Update(ctx, 424242, app.TeamPatch{Name: ptr("x")})
	wantCode(t, err, domain.CodeNotFound)
	if got := w.cat[s.c].teams[s.team.ID]; got.Name != "Billing" || got.Description != "" || len(w.activityOf(s.c)) != before {
		t.Fatalf("a refused patch changed %+v", got)
	}
}

func TestTeamDeleteRefusedWhileOwningComponents(t *testing.T) {
	s := seed(t)
	w := s.w
	before := len(w.activityOf(s.c))
	wantCode(t, w.teams.Delete(as(s.user), s.team.ID), domain.CodeConflict)
	if _, ok := w.cat[s.c].teams[s.team.ID]; !ok || len(w.activityOf(s.c)) != before {
		t.Fatal("a refused delete changed something")
	}
	if err := w.teams.Delete(as(s.user), s.team2.ID); err != nil {
		t.Fatal(err)
	}
	if a := w.lastActivity(t, s.c); a.Action != "delete" || a.EntityID != s.team2.ID {
		t.Fatalf("activity %+v", a)
	}
	wantCode(t, w.teams.Delete(as(s.user), s.team2.ID), domain.CodeNotFound)
	wantCode(t, w.teams.Delete(as(s.user), -1), domain.CodeNotFound)
}

func TestTeamMembers(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	if err := w.teams.AddMember(ctx, s.team.ID, s.viewer.UserID); err != nil {
		t.Fatal(err)
	}
	if a := w.lastActivity(t, s.c); a.Action != "add_member" || a.EntityType != "team" || a.EntityID != s.team.ID ||
		a.Detail["user_id"] != itoa(s.viewer.UserID) {
		t.Fatalf("activity %+v", a)
	}
	members, err := w.teams.ListMembers(as(s.viewer), s.team.ID, domain.Page{})
	if err != nil || len(members) != 2 || members[0].ID != s.user.UserID || members[1].ID != s.viewer.UserID {
		t.Fatalf("members %+v %v", members, err)
	}
	before := len(w.activityOf(s.c))
	wantField(t, w.teams.AddMember(ctx, s.team.ID, 999_999), "user_id")
	wantField(t, w.teams.AddMember(ctx, s.team.ID, 0), "user_id")
	wantCode(t, w.teams.AddMember(ctx, 999_999, s.user.UserID), domain.CodeNotFound)
	wantCode(t, w.teams.RemoveMember(ctx, s.team2.ID, s.user.UserID), domain.CodeNotFound)
	_, err = w.teams.ListMembers(ctx, 999_999, domain.Page{})
	wantCode(t, err, domain.CodeNotFound)
	if len(w.activityOf(s.c)) != before {
		t.Fatal("a refused member change recorded activity")
	}
	// A user of another company is unknown here.
	b, adminB := w.company(t, "Beta")
	wantField(t, w.teams.AddMember(ctx, s.team.ID, adminB.UserID), "user_id")
	wantCode(t, w.teams.AddMember(as(adminB), s.team.ID, adminB.UserID), domain.CodeNotFound)
	if len(w.cat[b].members) != 0 {
		t.Fatal("cross-tenant membership")
	}
	if err := w.teams.RemoveMember(ctx, s.team.ID, s.viewer.UserID); err != nil {
		t.Fatal(err)
	}
	if a := w.lastActivity(t, s.c); a.Action != "remove_member" {
		t.Fatalf("activity %+v", a)
	}
}

func TestTeamsListPagesAndIsolation(t *testing.T) {
	s := seed(t)
	w := s.w
	teams, err := w.teams.List(as(s.viewer), domain.Page{Limit: 1})
	if err != nil || len(teams) != 1 || teams[0].ID != s.team.ID {
		t.Fatalf("page 1 %+v %v", teams, err)
	}
	teams, err = w.teams.List(as(s.viewer), domain.Page{After: teams[0].ID, Limit: 1})
	if err != nil || len(teams) != 1 || teams[0].ID != s.team2.ID {
		t.Fatalf("page 2 %+v %v", teams, err)
	}
	if _, err := w.teams.List(as(s.viewer), domain.Page{Limit: -5}); err != nil {
		t.Fatal(err)
	}
	if calls := w.teamRepo.ListCalls(); calls[len(calls)-1].Page.Limit != domain.DefaultPageSize {
		t.Fatalf("page not clamped: %+v", calls[len(calls)-1].Page)
	}
	_, adminB := w.company(t, "Beta")
	teams, err = w.teams.List(as(adminB), domain.Page{})
	if err != nil || len(teams) != 0 {
		t.Fatalf("tenant B sees %+v", teams)
	}
	_, err = w.teams.Get(as(adminB), s.team.ID)
	wantCode(t, err, domain.CodeNotFound)
	_, err = w.teams.Update(as(adminB), s.team.ID, app.TeamPatch{Name: ptr("mine")})
	wantCode(t, err, domain.CodeNotFound)
}

// The activity is written in the write's unit of work: when it cannot be
// recorded, the write is rolled back too; when the write fails, no activity is
// recorded.
func TestActivityCommitsWithTheWrite(t *testing.T) {
	s := seed(t)
	w := s.w
	w.activityLog.RecordFunc = func(ctx context.Context, a domain.Activity) error {
		mustWrite(ctx)
		return errors.New("disk full")
	}
	_, err := w.teams.Create(as(s.user), "Search", "")
	if err == nil {
		t.Fatal("want error")
	}
	for _, team := range w.cat[s.c].teams {
		if team.Name == "Search" {
			t.Fatal("the team survived its failed activity record")
		}
	}
	_, err = w.components.Update(as(s.user), s.comp.ID, app.ComponentPatch{Description: ptr("changed")})
	if err == nil || w.cat[s.c].comps[s.comp.ID].Description == "changed" {
		t.Fatalf("component update survived its failed activity record: %v", err)
	}
}

func TestActivityListNewestFirstForAdmins(t *testing.T) {
	s := seed(t)
	w := s.w
	acts, err := w.activity.List(as(s.admin), domain.Page{Limit: 3})
	if err != nil || len(acts) != 3 {
		t.Fatalf("activity %+v %v", acts, err)
	}
	all := w.activityOf(s.c)
	if acts[0].ID != all[len(all)-1].ID || acts[0].Action != "create" || acts[0].EntityType != "deployment" {
		t.Fatalf("not newest first: %+v", acts[0])
	}
	next, err := w.activity.List(as(s.admin), domain.Page{After: acts[2].ID, Limit: 1})
	if err != nil || len(next) != 1 || next[0].ID >= acts[2].ID {
		t.Fatalf("next page %+v %v", next, err)
	}
	if _, err := w.activity.List(as(s.admin), domain.Page{Limit: 1000}); err != nil {
		t.Fatal(err)
	}
	if calls := w.activityLog.ListCalls(); calls[len(calls)-1].Page.Limit != domain.MaxPageSize {
		t.Fatalf("page not clamped: %+v", calls[len(calls)-1].Page)
	}
	b, adminB := w.company(t, "Beta")
	acts, err = w.activity.List(as(adminB), domain.Page{})
	if err != nil {
		t.Fatal(err)
	}
	mine := map[int64]bool{}
	for _, a := range w.activityOf(b) {
		mine[a.ID] = true
	}
	for _, a := range acts {
		if !mine[a.ID] {
			t.Fatalf("tenant B sees activity that is not its own: %+v", a)
		}
	}
	if len(acts) != 1 || acts[0].EntityType != "user" || acts[0].EntityID != adminB.UserID {
		t.Fatalf("tenant B's activity should be its admin's registration only: %+v", acts)
	}
}
