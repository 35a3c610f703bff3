package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/tenancy"
)

// BenchmarkProvision compares provisioning one tenant (company row, schema,
// Schemata's tenant migrations with their records, ledger row, 21 seed rows,
// one transaction) with the physical floor measured in the same run: the same
// DDL and seed replayed raw in one transaction over the same driver, in three
// messages (BEGIN + CREATE SCHEMA + SET LOCAL + migration SQL; the seed;
// COMMIT). Schemas are dropped outside the timed region. DESIGN §2.3 sets
// provision ≤ 1.3× baseline.
//
//	go test -run '^$' -bench BenchmarkProvision -benchtime=20x ./adapters/postgres/
func BenchmarkProvision(b *testing.B) {
	db := newDB(b, 4)
	ts := referenceSchema(b)
	ctx := context.Background()
	var ddl strings.Builder
	for _, m := range ts.Migrations {
		ddl.WriteString(m.SQL)
		ddl.WriteString("\n;\n")
	}

	b.Run("baseline", func(b *testing.B) {
		conn, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		n := 0
		for b.Loop() {
			n++
			schema := bun.Ident("bench_" + tenancy.CompanyID(n).String())
			first := db.QueryGen().FormatQuery("BEGIN; CREATE SCHEMA ?; SET LOCAL search_path TO ?;\n", schema, schema) + ddl.String()
			if _, err := conn.ExecContext(ctx, first); err != nil {
				b.Fatal(err)
			}
			if err := postgres.ReferenceSeed(ctx, postgres.Handle{DB: db, Conn: conn}); err != nil {
				b.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := conn.NewRaw("DROP SCHEMA ? CASCADE", schema).Exec(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})

	b.Run("provision", func(b *testing.B) {
		p := postgres.NewProvisioner(db, ts)
		for b.Loop() {
			c, err := p.Create(ctx, "Bench", nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := p.Delete(ctx, tenancy.CompanyID(c.ID), nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}
