package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/fx"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/tenancy"
)

// MigrateCmd applies public migrations and brings every tenant to the latest
// version. It is idempotent: a second run finds nothing to do.
type MigrateCmd struct {
	Parallel int `name:"parallel" env:"MIGRATE_PARALLEL" default:"0" help:"Tenants migrated at once (0: number of CPUs, at least 2)."`
}

// Run migrates; it fails when any tenant failed (the others are migrated and
// the ledger records each tenant's outcome).
func (m *MigrateCmd) Run(g *Globals, log *slog.Logger) error {
	opts, err := databaseOptions(g, log, true)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var migrator *postgres.TenantMigrator
	fxApp := fx.New(opts, fx.Populate(&migrator))
	if err := fxApp.Err(); err != nil {
		return err
	}
	return startStop(ctx, fxApp.Start, fxApp.Stop, func() error {
		results, err := migrator.MigrateAll(ctx, m.Parallel)
		failed := 0
		for _, r := range results {
			if r.Err != nil {
				failed++
				log.Error("tenant migration failed", "company_id", int64(r.Company), "err", r.Err)
			}
		}
		fmt.Println(summary(results, failed))
		return err
	})
}

func summary(results []tenancy.Result, failed int) string {
	if len(results) == 0 {
		return "public schema up to date; every tenant is at the latest version (nothing to do)"
	}
	return fmt.Sprintf("migrated %d tenant(s): %d ok, %d failed", len(results), len(results)-failed, failed)
}
