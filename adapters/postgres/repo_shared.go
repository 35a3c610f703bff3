package postgres

import (
	"database/sql"
	"errors"
	"strings"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
)

// keyset applies a clamped keyset page to q: rows whose id is greater than
// page.After, in id order, at most page.Limit of them. The model of q must
// have an id column.
func keyset(q *bun.SelectQuery, page domain.Page) *bun.SelectQuery {
	p := page.Clamp()
	return q.Where("?TableAlias.id > ?", p.After).
		OrderExpr("?TableAlias.id ASC").
		Limit(int64(p.Limit))
}

// rowError maps the error of a query that expects exactly one row:
// sql.ErrNoRows becomes the NotFound of entity, anything else goes through
// mapError.
func rowError(err error, entity string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return domain.NotFound(entity)
	}
	return mapError(err)
}

// conflictOn returns a Conflict with message when err is a PostgreSQL error
// with SQLSTATE code, keeping err as the cause; any other error goes through
// mapError.
func conflictOn(err error, code, message string) error {
	if pgCode(err) == code {
		return &domain.Error{Code: domain.CodeConflict, Message: message, Err: err}
	}
	return mapError(err)
}

// requireOneRow turns a result that touched no row into the NotFound of entity.
func requireOneRow(res sql.Result, entity string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return mapError(err)
	}
	if n == 0 {
		return domain.NotFound(entity)
	}
	return nil
}

// storedEmail is the form in which emails are stored and compared: trimmed
// and lower-cased (the tables' CHECK constraints insist on lower case).
// Validation is the application's job (domain.NormalizeEmail).
func storedEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}
