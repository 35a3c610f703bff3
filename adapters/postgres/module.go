package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/uptrace/bun"
	"go.uber.org/fx"

	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// Config is what the command supplies to Module.
type Config struct {
	DatabaseURL string
	Pool        Options
	// MigratePublic applies pending public migrations when the graph starts
	// (serve does, so that one command runs the service on a fresh database).
	MigratePublic bool
	// PublicMigrations is the public migration set (migrations.Public()).
	PublicMigrations fs.FS
	// DirectoryTTL bounds how long another process may accept a token for a
	// company deleted elsewhere; 0 means tenancy.DefaultDirectoryTTL.
	DirectoryTTL time.Duration
}

// Module provides the PostgreSQL adapter: the *bun.DB (opened and pinged on
// start, closed on stop), the unit of work, the provisioner, the tenant
// migrator, every repository bound to its port, the tenant directory and the
// readiness pinger. It takes a Config and a TenantSchema from the graph.
var Module = fx.Module("postgres",
	fx.Provide(
		newLifecycleDB,
		fx.Annotate(NewUnitOfWork, fx.As(new(ports.UnitOfWork))),
		fx.Annotate(NewProvisioner, fx.As(fx.Self()), fx.As(new(ports.Provisioner))),
		fx.Annotate(NewTenantMigrator, fx.As(fx.Self()), fx.As(new(ports.FleetStatus))),
		NewVerifier,
		NewTransfer,
		NewMonolithImporter,
		fx.Annotate(NewCompanyRepository, fx.As(new(ports.CompanyRepository)), fx.As(new(tenancy.DirectorySource))),
		fx.Annotate(NewUserRepository, fx.As(new(ports.UserRepository))),
		fx.Annotate(NewEmailLookup, fx.As(new(ports.EmailLookup))),
		fx.Annotate(NewReferenceRepository, fx.As(new(ports.ReferenceRepository))),
		fx.Annotate(NewInvitationRepository, fx.As(new(ports.InvitationRepository))),
		fx.Annotate(NewAuditLog, fx.As(new(ports.AuditLog))),
		fx.Annotate(NewUserAdmin, fx.As(new(ports.UserAdmin))),
		fx.Annotate(NewTeamRepository, fx.As(new(ports.TeamRepository))),
		fx.Annotate(NewComponentRepository, fx.As(new(ports.ComponentRepository))),
		fx.Annotate(NewTagRepository, fx.As(new(ports.TagRepository))),
		fx.Annotate(NewEnvironmentRepository, fx.As(new(ports.EnvironmentRepository))),
		fx.Annotate(NewVersionRepository, fx.As(new(ports.VersionRepository))),
		fx.Annotate(NewDeploymentRepository, fx.As(new(ports.DeploymentRepository))),
		fx.Annotate(NewActivityLog, fx.As(new(ports.ActivityLog))),
		fx.Annotate(newDirectory, fx.As(new(ports.TenantDirectory))),
		fx.Annotate(func(db *bun.DB) Pinger { return Pinger{DB: db} }, fx.As(new(ports.Pinger))),
	),
)

func newDirectory(cfg Config, src tenancy.DirectorySource) *tenancy.Directory {
	return tenancy.NewDirectory(src, cfg.DirectoryTTL)
}

func newLifecycleDB(lc fx.Lifecycle, cfg Config, log *slog.Logger) (*bun.DB, error) {
	db, err := Open(cfg.DatabaseURL, cfg.Pool)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := db.PingContext(ctx); err != nil {
				return fmt.Errorf("postgres: database unreachable: %w", err)
			}
			if cfg.MigratePublic {
				if err := MigratePublic(ctx, db, cfg.PublicMigrations); err != nil {
					return err
				}
				log.InfoContext(ctx, "public migrations applied")
			}
			return nil
		},
		OnStop: func(context.Context) error { return db.Close() },
	})
	return db, nil
}
