package token

import (
	"go.uber.org/fx"

	"github.com/schemata/schemata/ports"
)

// Module provides an *Issuer as the application's ports.TokenIssuer. It takes
// a Config from the graph (the command supplies it with fx.Supply). When
// Config.Clock is nil and the graph has a ports.Clock, that clock is used.
var Module = fx.Module("token",
	fx.Provide(fx.Annotate(
		newFromGraph,
		fx.ParamTags(``, `optional:"true"`),
		fx.As(new(ports.TokenIssuer)),
	)),
)

func newFromGraph(cfg Config, clock ports.Clock) (*Issuer, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock
	}
	return New(cfg)
}
