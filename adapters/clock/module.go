package clock

import (
	"go.uber.org/fx"

	"github.com/schemata/schemata/ports"
)

// Module provides System as the application's ports.Clock.
var Module = fx.Module("clock",
	fx.Provide(fx.Annotate(newSystem, fx.As(new(ports.Clock)))),
)

func newSystem() System { return System{} }
