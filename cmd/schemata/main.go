// Command schemata is the composition root of Schemata: one binary with the
// subcommands serve and migrate. It parses flags and environment (kong),
// assembles the fx graph from each adapter's Module, and nothing else.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/alecthomas/kong"

	"github.com/schemata/schemata/adapters/httpapi"
)

// CLI is the command line: global flags and the subcommands.
type CLI struct {
	Globals

	Serve   ServeCmd   `cmd:"" help:"Run the HTTP API (applies pending public migrations first)."`
	Migrate MigrateCmd `cmd:"" help:"Apply public migrations and bring every tenant schema to the latest version (idempotent)."`

	Tenants        TenantsCmd        `cmd:"" help:"Fleet operations on tenants."`
	ImportMonolith ImportMonolithCmd `cmd:"" name:"import-monolith" help:"Import every company of a single-schema database as tenants."`
}

// Globals are flags shared by every subcommand.
type Globals struct {
	DatabaseURL string `name:"database-url" env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" help:"PostgreSQL URL."`
	DBMaxConns  int    `name:"db-max-conns" env:"DB_MAX_CONNS" default:"16" help:"Maximum open database connections."`
	LogFormat   string `name:"log-format" env:"LOG_FORMAT" enum:"json,text" default:"json" help:"Log format: json or text."`
	LogLevel    string `name:"log-level" env:"LOG_LEVEL" enum:"debug,info,warn,error" default:"info" help:"Minimum log level."`
}

func (g Globals) logger() *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(g.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(os.Stderr, opts)
	if g.LogFormat == "text" {
		h = slog.NewTextHandler(os.Stderr, opts)
	}
	return slog.New(httpapi.NewLogHandler(h))
}

func main() {
	var cli CLI
	kctx := kong.Parse(&cli,
		kong.Name("schemata"),
		kong.Description("Schema-per-tenant service catalog on PostgreSQL."),
		kong.UsageOnError(),
	)
	log := cli.logger()
	slog.SetDefault(log)
	if err := kctx.Run(&cli.Globals, log); err != nil {
		log.Error("schemata failed", "command", kctx.Command(), "err", err)
		fmt.Fprintln(os.Stderr, "schemata:", err)
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		os.Exit(code)
	}
}

// startStop starts an fx application, runs fn, and stops it.
func startStop(ctx context.Context, start func(context.Context) error, stop func(context.Context) error, fn func() error) error {
	if err := start(ctx); err != nil {
		return err
	}
	runErr := fn()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	if err := stop(stopCtx); err != nil && runErr == nil {
		return err
	}
	return runErr
}
