package app

import (
	"context"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

// Tags holds the use cases on a tenant's tags: every user of the tenant reads
// them; users and admins change them. Tags are also created implicitly when a
// component names an unknown one.
type Tags struct {
	uow      ports.UnitOfWork
	tags     ports.TagRepository
	activity ports.ActivityLog
}

// NewTags wires the tag use cases.
func NewTags(uow ports.UnitOfWork, tags ports.TagRepository, activity ports.ActivityLog) *Tags {
	return &Tags{uow: uow, tags: tags, activity: activity}
}

// List pages through the tenant's tags by id.
func (s *Tags) List(ctx context.Context, page domain.Page) ([]domain.Tag, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read tags")
	if err != nil {
		return nil, err
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.Tag, error) {
		return s.tags.List(ctx, page.Clamp())
	})
}

// Get returns one tag; another tenant's id is NotFound.
func (s *Tags) Get(ctx context.Context, id int64) (domain.Tag, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read tags")
	if err != nil {
		return domain.Tag{}, err
	}
	if id <= 0 {
		return domain.Tag{}, domain.NotFound("tag")
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) (domain.Tag, error) {
		return s.tags.Get(ctx, id)
	})
}

func validateTagName(name string) (string, error) {
	name, err := domain.ValidateTagName(name)
	return name, withField(err, "name")
}

// Create adds a tag; a name already taken is a Conflict.
func (s *Tags) Create(ctx context.Context, name string) (domain.Tag, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change tags")
	if err != nil {
		return domain.Tag{}, err
	}
	if name, err = validateTagName(name); err != nil {
		return domain.Tag{}, err
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Tag, domain.Activity, error) {
		t, err := s.tags.Create(ctx, domain.Tag{Name: name})
		return t, act("create", "tag", t.ID, map[string]string{"name": name}), err
	})
}

// Update renames a tag (every component carrying it shows the new name).
func (s *Tags) Update(ctx context.Context, id int64, name string) (domain.Tag, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change tags")
	if err != nil {
		return domain.Tag{}, err
	}
	if id <= 0 {
		return domain.Tag{}, domain.NotFound("tag")
	}
	if name, err = validateTagName(name); err != nil {
		return domain.Tag{}, err
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Tag, domain.Activity, error) {
		t, err := s.tags.Get(ctx, id)
		if err != nil {
			return t, domain.Activity{}, err
		}
		from := t.Name
		t.Name = name
		t, err = s.tags.Update(ctx, t)
		return t, act("update", "tag", id, map[string]string{"name": name, "from": from}), err
	})
}

// Delete detaches a tag from every component and removes it.
func (s *Tags) Delete(ctx context.Context, id int64) error {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change tags")
	if err != nil {
		return err
	}
	if id <= 0 {
		return domain.NotFound("tag")
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		return none{}, act("delete", "tag", id, nil), s.tags.Delete(ctx, id)
	})
	return err
}
