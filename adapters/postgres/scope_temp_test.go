package postgres_test

import (
	"context"
	"testing"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
)

// A temporary table left on a pooled connection cannot shadow a tenant table:
// pg_temp is searched last in every scope and on the bare connection.
func TestTempTableCannotShadowTenantTables(t *testing.T) {
	db := newDB(t, 1)
	ids := newTenants(t, db, 1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TEMP TABLE cloud_providers (id bigint, name text, description text, created_at timestamptz, updated_at timestamptz)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO pg_temp.cloud_providers VALUES (1, 'SHADOW', '', now(), now())"); err != nil {
		t.Fatal(err)
	}
	repo := postgres.NewReferenceRepository(db)
	uow := postgres.NewUnitOfWork(db)
	check := func(name string, run func(context.Context, func(context.Context) error) error) {
		var item domain.RefItem
		err := run(ctx, func(ctx context.Context) error {
			var err error
			item, err = repo.Get(ctx, domain.CloudProviders, 1)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if item.Name != "AWS" {
			t.Fatalf("%s read %q: a temporary table shadowed the tenant table", name, item.Name)
		}
	}
	check("ReadTenant", func(ctx context.Context, fn func(context.Context) error) error {
		return uow.ReadTenant(ctx, ids[0], fn)
	})
	check("WithinTenant", func(ctx context.Context, fn func(context.Context) error) error {
		return uow.WithinTenant(ctx, ids[0], fn)
	})
}
