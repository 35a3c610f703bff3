package ratelimit

import (
	"go.uber.org/fx"

	"github.com/schemata/schemata/ports"
)

// Module provides a *Limiter as the application's ports.LoginLimiter. It
// takes a Config from the graph (the command supplies it with fx.Supply).
// When Config.Clock is nil and the graph has a ports.Clock, that clock is
// used.
var Module = fx.Module("ratelimit",
	fx.Provide(fx.Annotate(
		newFromGraph,
		fx.ParamTags(``, `optional:"true"`),
		fx.As(new(ports.LoginLimiter)),
	)),
)

func newFromGraph(cfg Config, clock ports.Clock) (*Limiter, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock
	}
	return New(cfg)
}
