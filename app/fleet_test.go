package app_test

import (
	"context"
	"testing"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports/portsmock"
	"github.com/schemata/schemata/tenancy"
)

func TestFleetStatusIsPlatformAdminOnly(t *testing.T) {
	want := []tenancy.TenantStatus{{CompanyID: 1, Version: 2, Latest: 2, Status: "ok"}}
	fake := &portsmock.FleetStatusMock{StatusFunc: func(ctx context.Context) ([]tenancy.TenantStatus, error) { return want, nil }}
	f := app.NewFleet(fake)
	_, err := f.Status(context.Background())
	wantCode(t, err, domain.CodeUnauthenticated)
	_, err = f.Status(as(app.Principal{CompanyID: 1, UserID: 1, Role: domain.RoleAdmin}))
	wantCode(t, err, domain.CodeForbidden)
	got, err := f.Status(as(platformAdmin))
	if err != nil || len(got) != 1 || got[0] != want[0] {
		t.Fatalf("status %v %v", got, err)
	}
	if len(fake.StatusCalls()) != 1 {
		t.Fatal("refused calls reached the store")
	}
}
