package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
)

// benchRefRow is a service_types row as the baseline and session_set
// techniques scan it: the same columns and tags as the adapter's own row.
type benchRefRow struct {
	bun.BaseModel `bun:"table:service_types,alias:r"`

	ID          int64     `bun:"id,pk,autoincrement"`
	Name        string    `bun:"name,notnull"`
	Description string    `bun:"description,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
}

// BenchmarkScopedRead compares, in one run over one tenant, one
// tenant-scoped read of a row by primary key:
//
//   - baseline: the schema-qualified table in one statement, no tenancy code
//     (the physical limit, 1 round trip);
//   - scoped: UnitOfWork.ReadTenant + ReferenceRepository.Get, the adapter's
//     path (one message `SET LOCAL …; SET LOCAL …; SELECT …`, 1 round trip);
//   - session_set: the original design, a pinned connection with session
//     `SET search_path`, the unqualified query, `RESET search_path`
//     (3 round trips, and unsafe under PgBouncer transaction pooling).
//
// BENCHMARKS.md quotes the ratios to baseline. Run it with -benchtime=2000x.
func BenchmarkScopedRead(b *testing.B) {
	store := newRepoStore(b)
	id := store.newTenant(b)
	uow := store.uow
	repo := postgres.NewReferenceRepository(store.db)
	const (
		itemID   = 3
		itemName = "Frontend" // the third seeded service type
	)
	qualified := bun.Safe(store.db.QueryGen().FormatQuery("? AS r", bun.Ident(id.Schema()+".service_types")))
	if got := string(qualified); got != `"`+id.Schema()+`"."service_types" AS r` {
		b.Fatalf("qualified table expression %s", got)
	}
	check := func(b *testing.B, gotID int64, gotName string) {
		b.Helper()
		if gotID != itemID || gotName != itemName {
			b.Fatalf("read (%d, %q), want (%d, %q)", gotID, gotName, itemID, itemName)
		}
	}

	b.Run("baseline", func(b *testing.B) {
		ctx := b.Context()
		var row benchRefRow
		for b.Loop() {
			row = benchRefRow{}
			err := store.db.NewSelect().Model(&row).ModelTableExpr(string(qualified)).Where("r.id = ?", itemID).Scan(ctx)
			if err != nil {
				b.Fatal(err)
			}
		}
		check(b, row.ID, row.Name)
		b.ReportMetric(1, "roundtrips/op")
	})

	b.Run("scoped", func(b *testing.B) {
		ctx := b.Context()
		var item domain.RefItem
		for b.Loop() {
			err := uow.ReadTenant(ctx, id, func(ctx context.Context) error {
				var err error
				item, err = repo.Get(ctx, domain.ServiceTypes, itemID)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		check(b, item.ID, item.Name)
		b.ReportMetric(1, "roundtrips/op")
	})

	b.Run("session_set", func(b *testing.B) {
		ctx := b.Context()
		setPath := `SET search_path TO "` + id.Schema() + `"`
		var row benchRefRow
		for b.Loop() {
			row = benchRefRow{}
			if err := sessionSetRead(ctx, store.db, setPath, &row, itemID); err != nil {
				b.Fatal(err)
			}
		}
		check(b, row.ID, row.Name)
		b.ReportMetric(3, "roundtrips/op")
	})
}

// sessionSetRead is the original design's read: session search_path on a
// pinned connection, the unqualified query, then RESET — which must run even
// when the query fails, or the connection goes back to the pool scoped to the
// tenant.
func sessionSetRead(ctx context.Context, db *bun.DB, setPath string, row *benchRefRow, id int64) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, setPath); err != nil {
		return err
	}
	defer func() {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "RESET search_path"); rerr != nil && err == nil {
			err = rerr
		}
	}()
	return db.NewSelect().Conn(conn).Model(row).ModelTableExpr("service_types AS r").Where("r.id = ?", id).Scan(ctx)
}
