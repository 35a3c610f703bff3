package postgres

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/domain"
)

// SQLSTATE codes mapped to domain errors.
const (
	sqlstateUniqueViolation     = "23505"
	sqlstateForeignKeyViolation = "23503"
	sqlstateCheckViolation      = "23514"
	sqlstateNotNullViolation    = "23502"
	// sqlstateIntegrity is what the append-only and immutable-column triggers
	// of the tenant schema raise.
	sqlstateIntegrity     = "23000"
	sqlstateStringTooLong = "22001"
)

// pgCode returns the SQLSTATE of a PostgreSQL error in err's chain, "" if none.
func pgCode(err error) string {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C')
	}
	return ""
}

// mapError translates a PostgreSQL error into a domain error so that callers
// above the adapter never inspect SQLSTATEs:
//
//   - 23505 unique_violation and 23503 foreign_key_violation → CodeConflict
//   - 23000 integrity_constraint_violation (append-only / immutable rows) → CodeConflict
//   - 23514 check_violation, 23502 not_null_violation and 22001
//     string_data_right_truncation → CodeInvalid
//
// nil, domain errors and sql.ErrNoRows are returned unchanged (callers turn
// sql.ErrNoRows into the NotFound of the entity they looked up); anything else
// is wrapped with a "postgres:" prefix. The PostgreSQL error stays in the chain
// (Err) for logs; its text is never part of the client-facing Message.
func mapError(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	switch pgCode(err) {
	case sqlstateUniqueViolation:
		return &domain.Error{Code: domain.CodeConflict, Message: "a record with the same unique value already exists", Err: err}
	case sqlstateForeignKeyViolation:
		return &domain.Error{Code: domain.CodeConflict, Message: "the record is referenced by, or references, another record", Err: err}
	case sqlstateIntegrity:
		return &domain.Error{Code: domain.CodeConflict, Message: "the record cannot be changed", Err: err}
	case sqlstateCheckViolation, sqlstateNotNullViolation:
		return &domain.Error{Code: domain.CodeInvalid, Message: "a value breaks a constraint", Err: err}
	case sqlstateStringTooLong:
		return &domain.Error{Code: domain.CodeInvalid, Message: "a value is too long", Err: err}
	}
	return fmt.Errorf("postgres: %w", err)
}
