package app_test

import (
	"context"
	"testing"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

func TestCompaniesRequirePlatformAdmin(t *testing.T) {
	w := newWorld(t)
	id, admin := w.company(t, "Acme")
	for name, ctx := range map[string]context.Context{"anonymous": context.Background(), "tenant admin": as(admin)} {
		t.Run(name, func(t *testing.T) {
			want := domain.CodeForbidden
			if name == "anonymous" {
				want = domain.CodeUnauthenticated
			}
			_, err := w.companiesSvc.Create(ctx, "X")
			wantCode(t, err, want)
			_, err = w.companiesSvc.List(ctx, domain.Page{})
			wantCode(t, err, want)
			_, err = w.companiesSvc.Get(ctx, id)
			wantCode(t, err, want)
			wantCode(t, w.companiesSvc.Delete(ctx, id), want)
		})
	}
	if len(w.companies) != 1 {
		t.Fatal("refused calls changed companies")
	}
}

func TestCompanyCreateValidatesAndAudits(t *testing.T) {
	w := newWorld(t)
	_, err := w.companiesSvc.Create(as(platformAdmin), "   ")
	wantCode(t, err, domain.CodeInvalid)
	c, err := w.companiesSvc.Create(as(platformAdmin), "  Acme Corp ")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Acme Corp" {
		t.Fatalf("name %q", c.Name)
	}
	if e := w.audit[len(w.audit)-1]; e.Action != "company.created" || e.CompanyID != c.ID {
		t.Fatalf("audit %+v", e)
	}
	got, err := w.companiesSvc.Get(as(platformAdmin), tenancy.CompanyID(c.ID))
	if err != nil || got != c {
		t.Fatalf("get %+v %v", got, err)
	}
	_, err = w.companiesSvc.Get(as(platformAdmin), 0)
	wantCode(t, err, domain.CodeNotFound)
}

func TestCompanyListPages(t *testing.T) {
	w := newWorld(t)
	for _, n := range []string{"A", "B", "C"} {
		if _, err := w.companiesSvc.Create(as(platformAdmin), n); err != nil {
			t.Fatal(err)
		}
	}
	first, err := w.companiesSvc.List(as(platformAdmin), domain.Page{Limit: 2})
	if err != nil || len(first) != 2 {
		t.Fatalf("first page %v %v", first, err)
	}
	rest, _ := w.companiesSvc.List(as(platformAdmin), domain.Page{After: first[1].ID, Limit: 2})
	if len(rest) != 1 || rest[0].Name != "C" {
		t.Fatalf("second page %v", rest)
	}
	w.compRepo.ListFunc = nil
	calls := 0
	w.compRepo.ListFunc = func(ctx context.Context, page domain.Page) ([]domain.Company, error) {
		calls++
		if page.Limit != domain.MaxPageSize {
			t.Fatalf("limit not clamped: %d", page.Limit)
		}
		return nil, nil
	}
	_, _ = w.companiesSvc.List(as(platformAdmin), domain.Page{Limit: 10_000})
	if calls != 1 {
		t.Fatal("list not called")
	}
}

func TestCompanyDeleteRefusedWhileUsersExist(t *testing.T) {
	w := newWorld(t)
	id, _ := w.company(t, "Acme")
	err := w.companiesSvc.Delete(as(platformAdmin), id)
	wantCode(t, err, domain.CodeConflict)
	if _, ok := w.companies[id]; !ok {
		t.Fatal("company deleted despite users")
	}
	if len(w.dir.InvalidateCalls()) != 0 {
		t.Fatal("directory invalidated for a refused delete")
	}
	empty, err := w.companiesSvc.Create(as(platformAdmin), "Empty")
	if err != nil {
		t.Fatal(err)
	}
	eid := tenancy.CompanyID(empty.ID)
	if err := w.companiesSvc.Delete(as(platformAdmin), eid); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.companies[eid]; ok {
		t.Fatal("company still there")
	}
	if calls := w.dir.InvalidateCalls(); len(calls) != 1 || calls[0].ID != eid {
		t.Fatalf("directory not invalidated: %+v", calls)
	}
	wantCode(t, w.companiesSvc.Delete(as(platformAdmin), eid), domain.CodeNotFound)
	wantCode(t, w.companiesSvc.Delete(as(platformAdmin), -3), domain.CodeNotFound)
	_ = app.Principal{}
}

func TestCompanyPurgeDropsUsersToo(t *testing.T) {
	w := newWorld(t)
	id, admin := w.company(t, "Acme")
	wantCode(t, w.companiesSvc.Purge(as(admin), id), domain.CodeForbidden)
	if err := w.companiesSvc.Purge(as(platformAdmin), id); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.companies[id]; ok || len(w.lookup) != 0 {
		t.Fatalf("purge left %v %v", w.companies, w.lookup)
	}
	if e := w.audit[len(w.audit)-1]; e.Action != "company.purged" || e.Detail["users"] != "1" {
		t.Fatalf("audit %+v", e)
	}
	if calls := w.dir.InvalidateCalls(); len(calls) != 1 || calls[0].ID != id {
		t.Fatalf("directory not invalidated: %+v", calls)
	}
	wantCode(t, w.companiesSvc.Purge(as(platformAdmin), id), domain.CodeNotFound)
}
