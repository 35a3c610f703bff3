package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/schemata/schemata/adapters/httpapi"
	"github.com/schemata/schemata/ports"
)

// fxGraph builds the module over the fake world's services.
func fxGraph(t *testing.T, addr string, logs *logBuffer) *fx.App {
	t.Helper()
	svc := newFakeWorld().services(false)
	return fx.New(fx.NopLogger,
		httpapi.Module,
		fx.Supply(httpapi.Config{}, httpapi.ServerConfig{Addr: addr}),
		supplyServices(svc),
		fx.Provide(func() ports.Pinger { return svc.Pinger }),
		fx.Provide(func() *slog.Logger { return slog.New(slog.NewJSONHandler(logs, nil)) }),
	)
}

// supplyServices supplies every use case of svc (not the Pinger).
func supplyServices(svc httpapi.Services) fx.Option {
	return fx.Supply(svc.Companies, svc.Auth, svc.Reference, svc.Users, svc.Teams, svc.Components, svc.Tags,
		svc.Environments, svc.Deployments, svc.Activity, svc.Fleet)
}

func TestModuleServesAndStops(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	fxApp := fxGraph(t, "127.0.0.1:0", logs)
	if err := fxApp.Err(); err != nil {
		t.Fatalf("fx graph: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fxApp.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	var addr string
	for l := range strings.Lines(logs.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "http server listening" {
			addr, _ = m["addr"].(string)
		}
	}
	if addr == "" {
		t.Fatalf("no listening address logged: %s", logs)
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Request-Id") == "" {
		t.Fatalf("GET /healthz: %d %v", res.StatusCode, res.Header)
	}
	if err := fxApp.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("the server still answers after Stop")
	}
}

func TestModuleStartFailsOnABusyPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fxApp := fxGraph(t, ln.Addr().String(), &logBuffer{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fxApp.Start(ctx); err == nil {
		_ = fxApp.Stop(ctx)
		t.Fatal("start succeeded on a port in use")
	}
}

func TestModuleProvidesTheRouter(t *testing.T) {
	t.Parallel()
	svc := newFakeWorld().services(false)
	var h http.Handler
	fxApp := fx.New(fx.NopLogger,
		httpapi.Module,
		fx.Supply(httpapi.Config{}, httpapi.ServerConfig{Addr: "127.0.0.1:0"}),
		supplyServices(svc),
		fx.Provide(func() ports.Pinger { return svc.Pinger }),
		fx.Populate(&h),
	)
	if err := fxApp.Err(); err != nil {
		t.Fatalf("fx graph without a logger: %v", err)
	}
	if h == nil {
		t.Fatal("no handler")
	}
}
