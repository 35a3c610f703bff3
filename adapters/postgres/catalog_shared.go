package postgres

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
)

// requireExists returns the NotFound of entity unless table has a row with id.
// Lists addressed to a parent (a team's members, a component's versions) call
// it only when a page comes back empty, so that an absent parent is a
// NotFound rather than an empty list at the cost of no extra round trip on the
// common path. table is always a constant of the caller.
func requireExists(ctx context.Context, h Handle, table string, id int64, entity string) error {
	var ok bool
	if err := h.NewRaw("SELECT EXISTS (SELECT 1 FROM ? WHERE id = ?)", bun.Ident(table), id).Scan(ctx, &ok); err != nil {
		return mapError(err)
	}
	if !ok {
		return domain.NotFound(entity)
	}
	return nil
}

// listEmpty applies the requireExists rule to a page: when n is 0, the parent
// must exist.
func listEmpty(ctx context.Context, h Handle, n int, table string, id int64, entity string) error {
	if n > 0 {
		return nil
	}
	return requireExists(ctx, h, table, id, entity)
}

// tenantRow is a persistence struct that maps to a domain value D.
type tenantRow[D any] interface {
	domain() D
}

// listTenantRows returns one id-ordered page of a tenant table mapped to
// domain values: the List of the simple catalog repositories.
func listTenantRows[R tenantRow[D], D any](ctx context.Context, db *bun.DB, page domain.Page) ([]D, error) {
	h, _, err := TenantHandle(ctx, db)
	if err != nil {
		return nil, err
	}
	var rows []R
	if err := keyset(h.NewSelect().Model(&rows), page).Scan(ctx); err != nil {
		return nil, mapError(err)
	}
	out := make([]D, len(rows))
	for i, row := range rows {
		out[i] = row.domain()
	}
	return out, nil
}

// getTenantRow returns the row of a tenant table whose primary key (qualified
// by the model's alias, e.g. "t.id") is id; NotFound(entity) when absent.
func getTenantRow[R tenantRow[D], D any](ctx context.Context, db *bun.DB, idColumn string, id int64, entity string) (D, error) {
	var zero D
	h, _, err := TenantHandle(ctx, db)
	if err != nil {
		return zero, err
	}
	var row R
	if err := h.NewSelect().Model(&row).Where("? = ?", bun.Ident(idColumn), id).Scan(ctx); err != nil {
		return zero, rowError(err, entity)
	}
	return row.domain(), nil
}
