package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

var _ ports.AuditLog = (*AuditLog)(nil)

// auditRow is a row of public.audit_log.
type auditRow struct {
	bun.BaseModel `bun:"table:public.audit_log,alias:a"`

	ID        int64             `bun:"id,pk,autoincrement"`
	At        time.Time         `bun:"at,nullzero"` // zero: the database's now()
	CompanyID *int64            `bun:"company_id"`  // nil: not tied to a company
	Actor     string            `bun:"actor,notnull"`
	Action    string            `bun:"action,notnull"`
	Target    string            `bun:"target,notnull"`
	Detail    map[string]string `bun:"detail,type:jsonb"` // never nil: '{}' when empty
}

// AuditLog appends security events to public.audit_log, which a trigger keeps
// append-only. Inside a WithinTenant unit of work the event joins the
// transaction and commits or rolls back with it; outside one, and inside a
// read-only ReadTenant scope (whose statements are each their own read-only
// transaction, so there is nothing to join), it is written on its own.
type AuditLog struct {
	db *bun.DB
}

// NewAuditLog returns an AuditLog over db.
func NewAuditLog(db *bun.DB) *AuditLog {
	return &AuditLog{db: db}
}

// Record appends e. Actor and Action are required; a zero At means now, a
// zero CompanyID means no company.
func (l *AuditLog) Record(ctx context.Context, e domain.AuditEvent) error {
	if e.Actor == "" {
		return domain.Invalid("actor", "audit event actor is required")
	}
	if e.Action == "" {
		return domain.Invalid("action", "audit event action is required")
	}
	row := auditRow{
		At:     e.At,
		Actor:  e.Actor,
		Action: e.Action,
		Target: e.Target,
		Detail: e.Detail,
	}
	if row.Detail == nil {
		row.Detail = map[string]string{}
	}
	if e.CompanyID != 0 {
		id := e.CompanyID
		row.CompanyID = &id
	}
	h := PublicHandle(ctx, l.db) // a write unit of work, else the pool
	_, err := h.NewInsert().
		Model(&row).
		Column("at", "company_id", "actor", "action", "target", "detail").
		Returning("NULL").
		Exec(ctx)
	return mapError(err)
}
