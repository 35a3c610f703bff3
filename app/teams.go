package app

import (
	"context"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

// Teams holds the use cases on a tenant's teams and their members: every user
// of the tenant reads them; users and admins change them.
type Teams struct {
	uow      ports.UnitOfWork
	teams    ports.TeamRepository
	activity ports.ActivityLog
}

// NewTeams wires the team use cases.
func NewTeams(uow ports.UnitOfWork, teams ports.TeamRepository, activity ports.ActivityLog) *Teams {
	return &Teams{uow: uow, teams: teams, activity: activity}
}

// TeamPatch holds the fields of a partial update; nil leaves a field unchanged.
type TeamPatch struct {
	Name        *string
	Description *string
}

// List pages through the tenant's teams by id.
func (s *Teams) List(ctx context.Context, page domain.Page) ([]domain.Team, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read teams")
	if err != nil {
		return nil, err
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.Team, error) {
		return s.teams.List(ctx, page.Clamp())
	})
}

// Get returns one team; another tenant's id is NotFound.
func (s *Teams) Get(ctx context.Context, id int64) (domain.Team, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read teams")
	if err != nil {
		return domain.Team{}, err
	}
	if id <= 0 {
		return domain.Team{}, domain.NotFound("team")
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) (domain.Team, error) {
		return s.teams.Get(ctx, id)
	})
}

func validateTeam(t *domain.Team) error {
	var err error
	if t.Name, err = domain.ValidateName("name", t.Name); err != nil {
		return err
	}
	t.Description, err = domain.ValidateDescription(t.Description)
	return err
}

// Create adds a team; a name already taken (case-insensitively) is a Conflict.
func (s *Teams) Create(ctx context.Context, name, description string) (domain.Team, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change teams")
	if err != nil {
		return domain.Team{}, err
	}
	t := domain.Team{Name: name, Description: description}
	if err := validateTeam(&t); err != nil {
		return domain.Team{}, err
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Team, domain.Activity, error) {
		t, err := s.teams.Create(ctx, t)
		return t, act("create", "team", t.ID, map[string]string{"name": t.Name}), err
	})
}

// Update changes name and/or description.
func (s *Teams) Update(ctx context.Context, id int64, patch TeamPatch) (domain.Team, error) {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change teams")
	if err != nil {
		return domain.Team{}, err
	}
	if id <= 0 {
		return domain.Team{}, domain.NotFound("team")
	}
	return writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.Team, domain.Activity, error) {
		t, err := s.teams.Get(ctx, id)
		if err != nil {
			return t, domain.Activity{}, err
		}
		if patch.Name != nil {
			t.Name = *patch.Name
		}
		if patch.Description != nil {
			t.Description = *patch.Description
		}
		if err := validateTeam(&t); err != nil {
			return t, domain.Activity{}, err
		}
		t, err = s.teams.Update(ctx, t)
		return t, act("update", "team", id, map[string]string{"name": t.Name}), err
	})
}

// Delete removes a team; a team that owns components is a Conflict.
func (s *Teams) Delete(ctx context.Context, id int64) error {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change teams")
	if err != nil {
		return err
	}
	if id <= 0 {
		return domain.NotFound("team")
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		return none{}, act("delete", "team", id, nil), s.teams.Delete(ctx, id)
	})
	return err
}

// ListMembers pages through a team's members by user id; an unknown team is
// NotFound.
func (s *Teams) ListMembers(ctx context.Context, teamID int64, page domain.Page) ([]domain.User, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read teams")
	if err != nil {
		return nil, err
	}
	if teamID <= 0 {
		return nil, domain.NotFound("team")
	}
	// The repository answers NotFound for an absent team itself (and checks
	// only when the page is empty): no extra round trip here.
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.User, error) {
		return s.teams.ListMembers(ctx, teamID, page.Clamp())
	})
}

// AddMember makes a user of the tenant a member of the team (idempotent). An
// unknown team is NotFound; an unknown user is Invalid("user_id").
func (s *Teams) AddMember(ctx context.Context, teamID, userID int64) error {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change team members")
	if err != nil {
		return err
	}
	if teamID <= 0 {
		return domain.NotFound("team")
	}
	if userID <= 0 {
		return domain.Invalid("user_id", "user_id must be the id of a user of this company")
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		if _, err := s.teams.Get(ctx, teamID); err != nil {
			return none{}, domain.Activity{}, err
		}
		return none{}, act("add_member", "team", teamID, map[string]string{"user_id": itoa(userID)}),
			s.teams.AddMember(ctx, teamID, userID)
	})
	return err
}

// RemoveMember removes a member; a user who is not a member is NotFound.
func (s *Teams) RemoveMember(ctx context.Context, teamID, userID int64) error {
	p, err := requireTenantRole(ctx, domain.RoleUser, "change team members")
	if err != nil {
		return err
	}
	if teamID <= 0 {
		return domain.NotFound("team")
	}
	if userID <= 0 {
		return domain.NotFound("team member")
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		if _, err := s.teams.Get(ctx, teamID); err != nil {
			return none{}, domain.Activity{}, err
		}
		return none{}, act("remove_member", "team", teamID, map[string]string{"user_id": itoa(userID)}),
			s.teams.RemoveMember(ctx, teamID, userID)
	})
	return err
}
