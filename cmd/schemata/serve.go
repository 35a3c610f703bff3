package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/fx"
)

// ServeCmd runs the HTTP API until SIGINT or SIGTERM.
type ServeCmd struct {
	HTTPAddr           string        `name:"http-addr" env:"HTTP_ADDR" default:":8080" help:"Listen address."`
	Env                string        `name:"env" env:"SCHEMATA_ENV" enum:"development,production" default:"development" help:"development or production (production requires JWT_SECRET)."`
	JWTSecret          string        `name:"jwt-secret" env:"JWT_SECRET" help:"HS256 signing secret, >= 32 bytes (prefer the environment variable)."`
	JWTPreviousSecrets []string      `name:"jwt-previous-secrets" env:"JWT_PREVIOUS_SECRETS" help:"Comma-separated secrets still accepted for verification (rotation)."`
	JWTIssuer          string        `name:"jwt-issuer" env:"JWT_ISSUER" default:"schemata" help:"Token issuer (iss)."`
	JWTAudience        string        `name:"jwt-audience" env:"JWT_AUDIENCE" default:"schemata-api" help:"Token audience (aud)."`
	JWTTTL             time.Duration `name:"jwt-ttl" env:"JWT_TTL" default:"1h" help:"Access token lifetime."`
	AdminToken         string        `name:"admin-token" env:"ADMIN_TOKEN" help:"Platform admin bearer token; empty disables the admin endpoints."`
	Signup             bool          `name:"signup" env:"SIGNUP_ENABLED" default:"true" negatable:"" help:"Allow self-service signup (a new company and its first admin)."`
	PrincipalTTL       time.Duration `name:"principal-ttl" env:"PRINCIPAL_TTL" default:"5s" help:"How long a user's role is cached (other processes see a deletion or role change within this time)."`
	InvitationTTL      time.Duration `name:"invitation-ttl" env:"INVITATION_TTL" default:"72h" help:"How long an invitation can be redeemed."`
	LoginBurst         int           `name:"login-burst" env:"LOGIN_BURST" default:"5" help:"Failed logins per account before throttling."`
	LoginEvery         time.Duration `name:"login-every" env:"LOGIN_EVERY" default:"1m" help:"One failed login is forgiven per this interval."`
}

// Run serves until a signal arrives, then shuts down gracefully.
func (s *ServeCmd) Run(g *Globals, log *slog.Logger) error {
	opts, err := serveOptions(g, s, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fxApp := fx.New(opts)
	if err := fxApp.Err(); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	return startStop(startCtx, fxApp.Start, fxApp.Stop, func() error {
		select {
		case <-ctx.Done():
			log.Info("shutting down", "reason", "signal")
		case sig := <-fxApp.Wait():
			log.Info("shutting down", "exit_code", sig.ExitCode)
		}
		return nil
	})
}
