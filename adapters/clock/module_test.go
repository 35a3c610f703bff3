package clock_test

import (
	"testing"

	"go.uber.org/fx"

	"github.com/schemata/schemata/adapters/clock"
	"github.com/schemata/schemata/ports"
)

func TestModuleProvidesClock(t *testing.T) {
	var c ports.Clock
	app := fx.New(fx.NopLogger, clock.Module, fx.Populate(&c))
	if err := app.Err(); err != nil {
		t.Fatalf("fx graph: %v", err)
	}
	if _, ok := c.(clock.System); !ok {
		t.Fatalf("ports.Clock is %T, want clock.System", c)
	}
}
