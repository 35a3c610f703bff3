package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/schemata/schemata/adapters/postgres/pgtest"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testServe() *ServeCmd {
	return &ServeCmd{HTTPAddr: "127.0.0.1:0", Env: "development", JWTIssuer: "schemata", JWTAudience: "schemata-api",
		JWTTTL: 3600e9, AdminToken: strings.Repeat("a", 40), Signup: true, InvitationTTL: 3600e9, LoginBurst: 5, LoginEvery: 60e9}
}

// The whole serve graph is complete and acyclic (no database needed).
func TestServeGraphValidates(t *testing.T) {
	opts, err := serveOptions(&Globals{DatabaseURL: "postgres://postgres@127.0.0.1:5432/none?sslmode=disable"}, testServe(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.ValidateApp(opts, fx.Invoke(func(http.Handler) {})); err != nil {
		t.Fatal(err)
	}
}

func TestProductionRequiresJWTSecret(t *testing.T) {
	s := testServe()
	s.Env = "production"
	if _, err := serveOptions(&Globals{DatabaseURL: "postgres://x@127.0.0.1/x"}, s, quietLogger()); err == nil {
		t.Fatal("production without JWT_SECRET accepted")
	}
	s.JWTSecret = "short"
	if _, err := serveOptions(&Globals{DatabaseURL: "postgres://x@127.0.0.1/x"}, s, quietLogger()); err == nil {
		t.Fatal("short JWT_SECRET accepted")
	}
}

// The graph builds, starts against a fresh database (applying public
// migrations), serves, and stops.
func TestServeGraphStartsAndServes(t *testing.T) {
	g := &Globals{DatabaseURL: pgtest.NewDatabase(t), DBMaxConns: 4}
	opts, err := serveOptions(g, testServe(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	fxApp := fx.New(opts, fx.Populate(&h))
	ctx := context.Background()
	if err := fxApp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := fxApp.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Fatalf("readyz %d %s", rec.Code, rec.Body)
	}
	req := httptest.NewRequest("POST", "/api/v1/companies", strings.NewReader(`{"name":"Acme"}`))
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 40))
	req.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), `"name":"Acme"`) {
		t.Fatalf("create company %d %s", rec.Code, rec.Body)
	}
}

// migrate applies everything once and then finds nothing to do.
func TestMigrateIsIdempotent(t *testing.T) {
	g := &Globals{DatabaseURL: pgtest.NewDatabase(t), DBMaxConns: 4}
	for i := 0; i < 2; i++ {
		if err := (&MigrateCmd{}).Run(g, quietLogger()); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}
