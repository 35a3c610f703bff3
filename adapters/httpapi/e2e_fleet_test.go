package httpapi_test

import (
	"context"
	"testing"
)

// GET /api/v1/admin/tenants/status reports the ledger to the platform admin
// only, and disappears with the other admin endpoints when ADMIN_TOKEN is off.
func TestE2EFleetStatus(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{signup: true})
	a := s.createCompany("Acme")
	b := s.createCompany("Beta")
	_, userTok := s.addUser(a, "admin@acme.example", "admin")
	// Tenant b's last migration "failed" (as a failed fleet run would record it).
	if _, err := s.db.ExecContext(context.Background(),
		"UPDATE public.tenant_fleet SET status = 'failed', error = 'boom' WHERE company_id = ?", int64(b)); err != nil {
		t.Fatal(err)
	}
	type status struct {
		Tenants []struct {
			CompanyID int64  `json:"company_id"`
			Name      string `json:"name"`
			Version   int64  `json:"version"`
			Latest    int64  `json:"latest"`
			Status    string `json:"status"`
			Error     string `json:"error"`
		} `json:"tenants"`
		Summary map[string]int `json:"summary"`
	}
	got := decodeAs[status](t, s.expect(s.send("GET", "/api/v1/admin/tenants/status", testAdminToken, nil), 200, ""))
	if len(got.Tenants) != 2 || got.Summary["ok"] != 1 || got.Summary["failed"] != 1 {
		t.Fatalf("status %+v", got)
	}
	if ta := got.Tenants[0]; ta.CompanyID != int64(a) || ta.Name != "Acme" || ta.Status != "ok" || ta.Version != ta.Latest || ta.Latest < 2 {
		t.Fatalf("tenant a %+v", ta)
	}
	if tb := got.Tenants[1]; tb.CompanyID != int64(b) || tb.Status != "failed" || tb.Error != "boom" {
		t.Fatalf("tenant b %+v", tb)
	}
	s.expect(s.send("GET", "/api/v1/admin/tenants/status", userTok, nil), 403, "forbidden")
	s.expect(s.send("GET", "/api/v1/admin/tenants/status", "", nil), 401, "unauthenticated")
	s.expect(s.send("GET", "/api/v1/admin/tenants/status?x=1", testAdminToken, nil), 400, "")
	s.expect(s.send("POST", "/api/v1/admin/tenants/status", testAdminToken, nil), 405, "")

	off := newStack(t, stackOptions{noAdmin: true})
	off.expect(off.send("GET", "/api/v1/admin/tenants/status", testAdminToken, nil), 404, "not_found")
	off.expect(off.send("POST", "/api/v1/admin/tenants/status", testAdminToken, nil), 404, "not_found")
}
