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
