package password_test

import (
	"testing"

	"go.uber.org/fx"

	"github.com/schemata/schemata/adapters/password"
	"github.com/schemata/schemata/ports"
)

func TestModuleProvidesHasherAndPort(t *testing.T) {
	var (
		h    *password.Hasher
		port ports.PasswordHasher
	)
	app := fx.New(fx.NopLogger,
		password.Module,
		fx.Supply(password.Config{MaxConcurrent: 1}),
		fx.Populate(&h, &port),
	)
	if err := app.Err(); err != nil {
		t.Fatalf("fx graph: %v", err)
	}
	if port != ports.PasswordHasher(h) {
		t.Fatal("the port and the *Hasher are different instances")
	}
	if h.DummyPHC() == "" {
		t.Fatal("no dummy hash")
	}
}

func TestModuleRejectsWeakConfig(t *testing.T) {
	app := fx.New(fx.NopLogger,
		password.Module,
		fx.Supply(password.Config{Iterations: 1}),
		fx.Invoke(func(ports.PasswordHasher) {}),
	)
	if app.Err() == nil {
		t.Fatal("fx graph accepted one iteration")
	}
}
