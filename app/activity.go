package app

import (
	"context"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

// Optional is a PATCH field of a nullable value: Set=false leaves it
// unchanged; Set with Value nil clears it; Set with a Value sets it.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// apply returns cur patched by o.
func (o Optional[T]) apply(cur *T) *T {
	if !o.Set {
		return cur
	}
	if o.Value == nil {
		return nil
	}
	v := *o.Value
	return &v
}

// Activity is the admins' view of what happened in their tenant.
type Activity struct {
	uow ports.UnitOfWork
	log ports.ActivityLog
}

// NewActivity wires the activity use case.
func NewActivity(uow ports.UnitOfWork, log ports.ActivityLog) *Activity {
	return &Activity{uow: uow, log: log}
}

// List pages through the caller's tenant activity, newest first (admin only).
func (s *Activity) List(ctx context.Context, page domain.Page) ([]domain.Activity, error) {
	p, err := requireTenantRole(ctx, domain.RoleAdmin, "read the activity log")
	if err != nil {
		return nil, err
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.Activity, error) {
		return s.log.List(ctx, page.Clamp())
	})
}

// readTenant runs fn in a read scope of the caller's tenant.
func readTenant[T any](ctx context.Context, uow ports.UnitOfWork, p Principal, fn func(ctx context.Context) (T, error)) (T, error) {
	var out T
	err := uow.ReadTenant(ctx, p.CompanyID, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// writeTenant runs fn in one unit of work of the caller's tenant and records
// the activity fn describes (Actor and ActorID filled from p) in the same
// unit of work: the write and its activity commit together or not at all.
func writeTenant[T any](ctx context.Context, uow ports.UnitOfWork, log ports.ActivityLog, p Principal,
	fn func(ctx context.Context) (T, domain.Activity, error)) (T, error) {
	var out T
	err := uow.WithinTenant(ctx, p.CompanyID, func(ctx context.Context) error {
		v, a, err := fn(ctx)
		if err != nil {
			return err
		}
		a.ActorID, a.Actor = p.UserID, p.Actor()
		if err := log.Record(ctx, a); err != nil {
			return err
		}
		out = v
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// act describes a write for the activity log.
func act(action, entityType string, id int64, detail map[string]string) domain.Activity {
	return domain.Activity{Action: action, EntityType: entityType, EntityID: id, Detail: detail}
}

// withField returns err re-labelled to field when it is a CodeInvalid error
// naming another field (a domain helper shared by several inputs).
func withField(err error, field string) error {
	if de, ok := err.(*domain.Error); ok && de.Code == domain.CodeInvalid && de.Field != field {
		c := *de
		c.Field = field
		return &c
	}
	return err
}

// none is the result of a write that returns nothing.
type none struct{}
