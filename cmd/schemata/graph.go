package main

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/schemata/schemata/adapters/clock"
	"github.com/schemata/schemata/adapters/httpapi"
	"github.com/schemata/schemata/adapters/password"
	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/adapters/ratelimit"
	"github.com/schemata/schemata/adapters/token"
	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/migrations"
	"github.com/schemata/schemata/ports"
)

const (
	startTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
)

// databaseOptions is the part of the graph every subcommand needs: the
// PostgreSQL adapter with Schemata's own migration sets and seed.
func databaseOptions(g *Globals, log *slog.Logger, migratePublic bool) (fx.Option, error) {
	ts, err := postgres.LoadTenantSchema(migrations.Tenant(), postgres.ReferenceSeed)
	if err != nil {
		return nil, err
	}
	return fx.Options(
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log}
			l.UseLogLevel(slog.LevelDebug)
			return l
		}),
		fx.StartTimeout(startTimeout),
		fx.StopTimeout(stopTimeout),
		fx.Supply(log),
		fx.Supply(postgres.Config{
			DatabaseURL:      g.DatabaseURL,
			Pool:             postgres.Options{MaxOpenConns: g.DBMaxConns},
			MigratePublic:    migratePublic,
			PublicMigrations: migrations.Public(),
		}),
		fx.Supply(ts),
		postgres.Module,
	), nil
}

// serveOptions is the whole graph of `schemata serve`.
func serveOptions(g *Globals, s *ServeCmd, log *slog.Logger) (fx.Option, error) {
	db, err := databaseOptions(g, log, true)
	if err != nil {
		return nil, err
	}
	secret, err := s.jwtSecret(log)
	if err != nil {
		return nil, err
	}
	var previous [][]byte
	for _, p := range s.JWTPreviousSecrets {
		previous = append(previous, []byte(p))
	}
	return fx.Options(
		db,
		fx.Supply(
			token.Config{Secret: secret, PreviousSecrets: previous, Issuer: s.JWTIssuer, Audience: s.JWTAudience, TTL: s.JWTTTL},
			password.Config{},
			ratelimit.Config{Burst: s.LoginBurst, Every: s.LoginEvery},
			httpapi.Config{AdminToken: s.AdminToken, SignupEnabled: s.Signup, CursorKey: cursorKey(secret)},
			httpapi.ServerConfig{Addr: s.HTTPAddr},
			authConfig{SignupEnabled: s.Signup, InvitationTTL: s.InvitationTTL, PrincipalTTL: s.PrincipalTTL},
		),
		clock.Module,
		token.Module,
		password.Module,
		ratelimit.Module,
		fx.Provide(app.NewCompanies, app.NewReference, newAuth, newPrincipalCache,
			app.NewUsers, app.NewTeams, app.NewComponents, app.NewTags, app.NewEnvironments, app.NewDeployments, app.NewActivity, app.NewFleet),
		httpapi.Module,
	), nil
}

// authConfig is app.AuthConfig less the dummy hash, which comes from the hasher.
type authConfig struct {
	SignupEnabled bool
	InvitationTTL time.Duration
	PrincipalTTL  time.Duration
}

// newPrincipalCache is the one cache of (company, user) → role shared by
// authentication and user management.
func newPrincipalCache(cfg authConfig, clock ports.Clock) *app.PrincipalCache {
	return app.NewPrincipalCache(cfg.PrincipalTTL, clock)
}

type authParams struct {
	fx.In

	Config      authConfig
	UoW         ports.UnitOfWork
	Directory   ports.TenantDirectory
	Provisioner ports.Provisioner
	Users       ports.UserRepository
	Lookup      ports.EmailLookup
	Invitations ports.InvitationRepository
	Audit       ports.AuditLog
	Activity    ports.ActivityLog
	Hasher      *password.Hasher
	Tokens      ports.TokenIssuer
	Clock       ports.Clock
	Limiter     ports.LoginLimiter
	Principals  *app.PrincipalCache
}

func newAuth(p authParams) *app.Auth {
	return app.NewAuth(app.AuthDeps{UoW: p.UoW, Directory: p.Directory, Provisioner: p.Provisioner, Users: p.Users,
		Lookup: p.Lookup, Invitations: p.Invitations, Audit: p.Audit, Activity: p.Activity, Hasher: p.Hasher, Tokens: p.Tokens,
		Clock: p.Clock, Limiter: p.Limiter, Principals: p.Principals},
		app.AuthConfig{SignupEnabled: p.Config.SignupEnabled, InvitationTTL: p.Config.InvitationTTL,
			PrincipalTTL: p.Config.PrincipalTTL, DummyPHC: p.Hasher.DummyPHC()})
}

// cursorKey derives the pagination cursor key from the JWT secret, so that
// every replica with the same secret accepts the others' cursors.
func cursorKey(secret []byte) []byte {
	sum := sha256.Sum256(append([]byte("schemata-cursor:"), secret...))
	return sum[:]
}

// jwtSecret returns JWT_SECRET, or in development a random one with a loud
// warning (tokens then stop working at every restart).
func (s *ServeCmd) jwtSecret(log *slog.Logger) ([]byte, error) {
	if s.JWTSecret != "" {
		if len(s.JWTSecret) < token.MinSecretLen {
			return nil, fmt.Errorf("JWT_SECRET must be at least %d bytes", token.MinSecretLen)
		}
		return []byte(s.JWTSecret), nil
	}
	if s.Env == "production" {
		return nil, fmt.Errorf("JWT_SECRET is required when SCHEMATA_ENV=production")
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	log.Warn("JWT_SECRET is not set: using a random secret for this process only. " +
		"Every token becomes invalid when it restarts, and replicas reject each other's tokens. " +
		"Set JWT_SECRET (>= 32 bytes) outside development.")
	return secret, nil
}
