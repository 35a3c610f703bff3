package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

var _ ports.ActivityLog = (*ActivityLog)(nil)

// activityRow is a row of the tenant table activity (append-only).
type activityRow struct {
	bun.BaseModel `bun:"table:activity,alias:ac"`

	ID         int64             `bun:"id,pk,autoincrement"`
	At         time.Time         `bun:"at,nullzero"` // zero: the database's now()
	ActorID    int64             `bun:"actor_id,notnull"`
	Actor      string            `bun:"actor,notnull"`
	Action     string            `bun:"action,notnull"`
	EntityType string            `bun:"entity_type,notnull"`
	EntityID   int64             `bun:"entity_id,notnull"`
	Detail     map[string]string `bun:"detail,type:jsonb"` // never nil: '{}' when empty
}

func (r activityRow) domain() domain.Activity {
	detail := r.Detail
	if detail == nil {
		detail = map[string]string{}
	}
	return domain.Activity{
		ID:         r.ID,
		At:         r.At,
		ActorID:    r.ActorID,
		Actor:      r.Actor,
		Action:     r.Action,
		EntityType: r.EntityType,
		EntityID:   r.EntityID,
		Detail:     detail,
	}
}

// ActivityLog records every write in a tenant in its activity table, which a
// trigger keeps append-only. Record writes through the tenant unit of work, so
// the entry commits or rolls back with the write it describes; it needs a
// WithinTenant scope (a ReadTenant scope is read-only). Without a scope every
// method returns ErrNoTenantScope.
type ActivityLog struct {
	db *bun.DB
}

// NewActivityLog returns an ActivityLog over db.
func NewActivityLog(db *bun.DB) *ActivityLog {
	return &ActivityLog{db: db}
}

// Record appends a (a zero At means now). Action and EntityType are required.
func (l *ActivityLog) Record(ctx context.Context, a domain.Activity) error {
	if a.Action == "" {
		return domain.Invalid("action", "activity action is required")
	}
	if a.EntityType == "" {
		return domain.Invalid("entity_type", "activity entity type is required")
	}
	h, _, err := TenantHandle(ctx, l.db)
	if err != nil {
		return err
	}
	row := activityRow{
		At:         a.At,
		ActorID:    a.ActorID,
		Actor:      a.Actor,
		Action:     a.Action,
		EntityType: a.EntityType,
		EntityID:   a.EntityID,
		Detail:     a.Detail,
	}
	if row.Detail == nil {
		row.Detail = map[string]string{}
	}
	q := h.NewInsert().Model(&row).Column("actor_id", "actor", "action", "entity_type", "entity_id", "detail")
	if !a.At.IsZero() {
		q = q.Column("at")
	}
	if _, err := q.Exec(ctx); err != nil {
		return writeError(err, "activity entry conflicts with a recorded one")
	}
	return nil
}

// List returns one page of activity, newest first (descending id); Page.After
// is the id of the last entry seen.
func (l *ActivityLog) List(ctx context.Context, page domain.Page) ([]domain.Activity, error) {
	h, _, err := TenantHandle(ctx, l.db)
	if err != nil {
		return nil, err
	}
	p := page.Clamp()
	var rows []activityRow
	q := h.NewSelect().Model(&rows)
	if p.After > 0 {
		q = q.Where("ac.id < ?", p.After)
	}
	if err := q.OrderExpr("ac.id DESC").Limit(int64(p.Limit)).Scan(ctx); err != nil {
		return nil, mapError(err)
	}
	out := make([]domain.Activity, len(rows))
	for i, row := range rows {
		out[i] = row.domain()
	}
	return out, nil
}
