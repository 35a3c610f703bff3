package app

import (
	"context"
	"strconv"
	"strings"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Reference holds the use cases on a tenant's reference data: every user of the
// tenant reads it; only admins change it.
type Reference struct {
	uow      ports.UnitOfWork
	repo     ports.ReferenceRepository
	activity ports.ActivityLog
}

// NewReference wires the reference data use cases.
func NewReference(uow ports.UnitOfWork, repo ports.ReferenceRepository, activity ports.ActivityLog) *Reference {
	return &Reference{uow: uow, repo: repo, activity: activity}
}

func refActivity(action string, kind domain.RefKind, item domain.RefItem) domain.Activity {
	return domain.Activity{Action: action, EntityType: strings.ReplaceAll(kind.Singular(), " ", "_"), EntityID: item.ID,
		Detail: map[string]string{"name": item.Name}}
}

func checkKind(kind domain.RefKind) error {
	if !kind.Valid() {
		return domain.Errorf(domain.CodeInternal, "unknown reference kind %q", kind)
	}
	return nil
}

// List pages through one kind of reference data of the caller's tenant.
func (s *Reference) List(ctx context.Context, kind domain.RefKind, page domain.Page) ([]domain.RefItem, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read reference data")
	if err != nil {
		return nil, err
	}
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	var items []domain.RefItem
	err = s.uow.ReadTenant(ctx, p.CompanyID, func(ctx context.Context) error {
		var err error
		items, err = s.repo.List(ctx, kind, page.Clamp())
		return err
	})
	return items, err
}

// Get returns one item of the caller's tenant; another tenant's id is NotFound.
func (s *Reference) Get(ctx context.Context, kind domain.RefKind, id int64) (domain.RefItem, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read reference data")
	if err != nil {
		return domain.RefItem{}, err
	}
	if err := checkKind(kind); err != nil {
		return domain.RefItem{}, err
	}
	if id <= 0 {
		return domain.RefItem{}, domain.NotFound(kind.Singular())
	}
	var item domain.RefItem
	err = s.uow.ReadTenant(ctx, p.CompanyID, func(ctx context.Context) error {
		var err error
		item, err = s.repo.Get(ctx, kind, id)
		return err
	})
	return item, err
}

// Create adds an item (admin only); a duplicate name is a Conflict.
func (s *Reference) Create(ctx context.Context, kind domain.RefKind, name, description string) (domain.RefItem, error) {
	p, err := requireTenantRole(ctx, domain.RoleAdmin, "change reference data")
	if err != nil {
		return domain.RefItem{}, err
	}
	if err := checkKind(kind); err != nil {
		return domain.RefItem{}, err
	}
	item := domain.RefItem{}
	if item.Name, err = domain.ValidateName("name", name); err != nil {
		return domain.RefItem{}, err
	}
	if item.Description, err = domain.ValidateDescription(description); err != nil {
		return domain.RefItem{}, err
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.RefItem, domain.Activity, error) {
		created, err := s.repo.Create(ctx, kind, item)
		return created, refActivity("create", kind, created), err
	})
}

// RefPatch holds the fields of a partial update; nil leaves a field unchanged.
type RefPatch struct {
	Name        *string
	Description *string
}

// Update changes name and/or description (admin only).
func (s *Reference) Update(ctx context.Context, kind domain.RefKind, id int64, patch RefPatch) (domain.RefItem, error) {
	p, err := requireTenantRole(ctx, domain.RoleAdmin, "change reference data")
	if err != nil {
		return domain.RefItem{}, err
	}
	if err := checkKind(kind); err != nil {
		return domain.RefItem{}, err
	}
	var name, desc string
	if patch.Name != nil {
		if name, err = domain.ValidateName("name", *patch.Name); err != nil {
			return domain.RefItem{}, err
		}
	}
	if patch.Description != nil {
		if desc, err = domain.ValidateDescription(*patch.Description); err != nil {
			return domain.RefItem{}, err
		}
	}
	if id <= 0 {
		return domain.RefItem{}, domain.NotFound(kind.Singular())
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.RefItem, domain.Activity, error) {
		cur, err := s.repo.Get(ctx, kind, id)
		if err != nil {
			return domain.RefItem{}, domain.Activity{}, err
		}
		if patch.Name != nil {
			cur.Name = name
		}
		if patch.Description != nil {
			cur.Description = desc
		}
		item, err := s.repo.Update(ctx, kind, cur)
		return item, refActivity("update", kind, item), err
	})
}

// Delete removes an item (admin only); a referenced item is a Conflict.
func (s *Reference) Delete(ctx context.Context, kind domain.RefKind, id int64) error {
	p, err := requireTenantRole(ctx, domain.RoleAdmin, "change reference data")
	if err != nil {
		return err
	}
	if err := checkKind(kind); err != nil {
		return err
	}
	if id <= 0 {
		return domain.NotFound(kind.Singular())
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (struct{}, domain.Activity, error) {
		return struct{}{}, refActivity("delete", kind, domain.RefItem{ID: id}), s.repo.Delete(ctx, kind, id)
	})
	return err
}
