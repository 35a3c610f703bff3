package password

import (
	"go.uber.org/fx"

	"github.com/schemata/schemata/ports"
)

// Module provides a *Hasher both as itself (the command reads DummyPHC from
// it) and as the application's ports.PasswordHasher. It takes a Config from
// the graph (the command supplies it with fx.Supply).
var Module = fx.Module("password",
	fx.Provide(fx.Annotate(New, fx.As(fx.Self()), fx.As(new(ports.PasswordHasher)))),
)
