package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/tenancy"
)

// fleetBenchTenants is the fleet size of BenchmarkFleetMigrate.
const fleetBenchTenants = 200

// fleetBenchDDL is the new tenant migration: a column and an index.
const fleetBenchDDL = "ALTER TABLE items ADD COLUMN note text; CREATE INDEX items_note_idx ON items (note)"

// BenchmarkFleetMigrate applies a new tenant migration (add a column and an
// index) to 200 tenants of a one-table schema, in the same run:
//
//   - baseline: the same DDL applied tenant by tenant over ONE connection, one
//     transaction per tenant sent as a single message
//     (BEGIN; SET LOCAL search_path; DDL; COMMIT), no bookkeeping;
//   - fleet: TenantMigrator.Run at its default parallelism, with everything
//     it does (first look, fleet lock, tenant locks, version guard, records,
//     ledger rows, re-check pass).
//
// Each iteration starts from the same state: the column (and with it the
// index), the records and the ledger are reset outside the timed region.
// DESIGN and issue 4 set fleet/baseline ≤ 0.75 on 2 cores.
//
//	go test -run '^$' -bench BenchmarkFleetMigrate -benchtime=3x ./adapters/postgres/
func BenchmarkFleetMigrate(b *testing.B) {
	db := newDB(b)
	ctx := context.Background()
	ids := provisionN(b, db, mustSchema(b, itemsV1, nil), fleetBenchTenants)
	set := mustSchema(b, withMigrations(itemsV1, map[string]string{"0002_note.sql": fleetBenchDDL + ";"}), nil)

	var reset strings.Builder
	reset.WriteString("BEGIN;\n")
	for _, id := range ids {
		reset.WriteString(`ALTER TABLE "` + id.Schema() + `".items DROP COLUMN IF EXISTS note; DELETE FROM "` +
			id.Schema() + `".schemata_migrations WHERE version > 1;` + "\n")
	}
	reset.WriteString("UPDATE public.tenant_fleet SET version = 1, status = 'ok', error = '';\nCOMMIT")
	restart := func(b *testing.B) {
		b.StopTimer()
		if _, err := db.ExecContext(ctx, reset.String()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	perTenant := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*fleetBenchTenants), "ms/tenant")
	}

	b.Run("baseline", func(b *testing.B) {
		conn, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		msgs := make([]string, len(ids))
		for i, id := range ids {
			msgs[i] = `BEGIN; SET LOCAL search_path TO "` + id.Schema() + `"; ` + fleetBenchDDL + "; COMMIT"
		}
		for b.Loop() {
			for _, msg := range msgs {
				if _, err := conn.ExecContext(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
			restart(b)
		}
		perTenant(b)
	})

	b.Run("fleet", func(b *testing.B) {
		m := postgres.NewTenantMigrator(db, set)
		for b.Loop() {
			rep, err := m.Run(ctx, postgres.FleetOptions{})
			if err != nil || len(rep.Results) != fleetBenchTenants {
				b.Fatalf("Run = %d results, %v", len(rep.Results), err)
			}
			restart(b)
		}
		perTenant(b)
		b.ReportMetric(float64(tenancy.DefaultParallelism()), "parallel")
	})
}
