package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.uber.org/fx"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/ports"
)

// Module provides the API's http.Handler (NewRouter) and runs it in an
// *http.Server for the lifetime of the fx application. cmd supplies Config,
// ServerConfig, the app services, a ports.Pinger and optionally a
// *slog.Logger.
var Module = fx.Module("httpapi",
	fx.Provide(newRouterFx),
	fx.Invoke(registerServer),
)

// ServerConfig configures the HTTP server. Zero timeouts take the defaults
// below; cmd sets Addr (HTTP_ADDR, default ":8080").
type ServerConfig struct {
	Addr              string
	ReadHeaderTimeout time.Duration // default 5s: slowloris
	ReadTimeout       time.Duration // default 30s: whole request, body included
	WriteTimeout      time.Duration // default 60s: from the end of the headers to the end of the response
	IdleTimeout       time.Duration // default 120s: keep-alive connections
}

// Server timeouts used when ServerConfig leaves them zero.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
)

type routerParams struct {
	fx.In

	Config       Config
	Companies    *app.Companies
	Auth         *app.Auth
	Reference    *app.Reference
	Users        *app.Users
	Teams        *app.Teams
	Components   *app.Components
	Tags         *app.Tags
	Environments *app.Environments
	Deployments  *app.Deployments
	Activity     *app.Activity
	Fleet        *app.Fleet
	Pinger       ports.Pinger
	Logger       *slog.Logger `optional:"true"`
}

func newRouterFx(p routerParams) http.Handler {
	return NewRouter(p.Config, Services{Companies: p.Companies, Auth: p.Auth, Reference: p.Reference,
		Users: p.Users, Teams: p.Teams, Components: p.Components, Tags: p.Tags, Environments: p.Environments,
		Deployments: p.Deployments, Activity: p.Activity, Fleet: p.Fleet, Pinger: p.Pinger}, p.Logger)
}

type serverParams struct {
	fx.In

	Lifecycle  fx.Lifecycle
	Shutdowner fx.Shutdowner
	Config     ServerConfig
	Handler    http.Handler
	Logger     *slog.Logger `optional:"true"`
}

// registerServer listens on OnStart (so a port in use fails the start) and
// serves in a goroutine; a serving error that is not a shutdown stops the
// application. OnStop shuts down gracefully within the stop context and closes
// what is left when it expires.
func registerServer(p serverParams) {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	cfg := p.Config
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           p.Handler,
		ReadHeaderTimeout: orDefault(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       orDefault(cfg.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      orDefault(cfg.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       orDefault(cfg.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
			if err != nil {
				return err
			}
			log.Info("http server listening", "addr", ln.Addr().String())
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("http server failed", "err", err)
					_ = p.Shutdowner.Shutdown(fx.ExitCode(1))
				}
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			err := srv.Shutdown(ctx)
			if err != nil {
				_ = srv.Close()
			}
			log.Info("http server stopped")
			return err
		},
	})
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
