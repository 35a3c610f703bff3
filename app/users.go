package app

import (
	"context"
	"log/slog"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

// Users holds user management inside a tenant: admins list, read, rename,
// change the role of and delete users; every user reads and renames itself and
// changes its own password. A company always keeps at least one admin.
type Users struct {
	uow        ports.UnitOfWork
	users      ports.UserRepository
	admin      ports.UserAdmin
	lookup     ports.EmailLookup
	hasher     ports.PasswordHasher
	activity   ports.ActivityLog
	audit      ports.AuditLog
	principals *PrincipalCache
}

// NewUsers wires the user management use cases. principals may be nil; when
// not, the entry of a changed or deleted user is invalidated at once.
func NewUsers(uow ports.UnitOfWork, users ports.UserRepository, admin ports.UserAdmin, lookup ports.EmailLookup,
	hasher ports.PasswordHasher, activity ports.ActivityLog, audit ports.AuditLog, principals *PrincipalCache) *Users {
	return &Users{uow: uow, users: users, admin: admin, lookup: lookup, hasher: hasher, activity: activity,
		audit: audit, principals: principals}
}

// UserPatch holds the fields of a partial update; nil leaves a field
// unchanged. Only admins may set Role.
type UserPatch struct {
	Name *string
	Role *string
}

// List pages through the tenant's users by id (admin only).
func (s *Users) List(ctx context.Context, page domain.Page) ([]domain.User, error) {
	p, err := requireTenantRole(ctx, domain.RoleAdmin, "list users")
	if err != nil {
		return nil, err
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) ([]domain.User, error) {
		return s.users.List(ctx, page.Clamp())
	})
}

// requireSelfOrAdmin allows an admin of the tenant, or the user id itself.
func requireSelfOrAdmin(ctx context.Context, id int64, what string) (Principal, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, what)
	if err != nil {
		return Principal{}, err
	}
	if p.Role != domain.RoleAdmin && p.UserID != id {
		return Principal{}, errForbidden(what)
	}
	return p, nil
}

// Get returns one user: any user for an admin, only itself for anyone else.
func (s *Users) Get(ctx context.Context, id int64) (domain.User, error) {
	p, err := requireSelfOrAdmin(ctx, id, "read other users")
	if err != nil {
		return domain.User{}, err
	}
	if id <= 0 {
		return domain.User{}, domain.NotFound("user")
	}
	return readTenant(ctx, s.uow, p, func(ctx context.Context) (domain.User, error) {
		return s.users.Get(ctx, id)
	})
}

// lastAdmin reports whether demoting or deleting user id would leave the
// company without an admin. It locks every admin row first, so two
// concurrent demotions of the last two admins cannot both pass.
func (s *Users) lastAdmin(ctx context.Context, id int64) (bool, error) {
	admins, err := s.admin.LockAdmins(ctx)
	if err != nil {
		return false, err
	}
	return len(admins) == 1 && admins[0] == id, nil
}

// Update renames a user and, for admins, changes its role. A user may rename
// itself but not change its own role (Forbidden); demoting the last admin is
// a Conflict. Role changes are audited ("user.role_changed").
func (s *Users) Update(ctx context.Context, id int64, patch UserPatch) (domain.User, error) {
	p, err := requireSelfOrAdmin(ctx, id, "change other users")
	if err != nil {
		return domain.User{}, err
	}
	if patch.Role != nil && p.Role != domain.RoleAdmin {
		return domain.User{}, errForbidden("change roles")
	}
	if id <= 0 {
		return domain.User{}, domain.NotFound("user")
	}
	var name string
	if patch.Name != nil {
		if name, err = domain.ValidateName("name", *patch.Name); err != nil {
			return domain.User{}, err
		}
	}
	var role domain.Role
	if patch.Role != nil {
		if role, err = domain.ParseRole(*patch.Role); err != nil {
			return domain.User{}, err
		}
	}
	u, err := writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (domain.User, domain.Activity, error) {
		if patch.Role != nil && role != domain.RoleAdmin {
			last, err := s.lastAdmin(ctx, id)
			if err != nil {
				return domain.User{}, domain.Activity{}, err
			}
			if last {
				return domain.User{}, domain.Activity{}, domain.Conflict("cannot demote the last admin of the company")
			}
		}
		u, err := s.users.Get(ctx, id)
		if err != nil {
			return domain.User{}, domain.Activity{}, err
		}
		from := u.Role
		detail := map[string]string{}
		if patch.Name != nil {
			u.Name = name
			detail["name"] = name
		}
		if patch.Role != nil {
			u.Role = role
			detail["role"] = string(role)
		}
		if u, err = s.admin.Update(ctx, u); err != nil {
			return domain.User{}, domain.Activity{}, err
		}
		if u.Role != from {
			if err := s.audit.Record(ctx, domain.AuditEvent{CompanyID: int64(p.CompanyID), Actor: p.Actor(),
				Action: "user.role_changed", Target: "user:" + itoa(id),
				Detail: map[string]string{"from": string(from), "to": string(u.Role)}}); err != nil {
				return domain.User{}, domain.Activity{}, err
			}
		}
		return u, act("update", "user", id, detail), nil
	})
	s.principals.Invalidate(ctx, p.CompanyID, id)
	if err != nil {
		return domain.User{}, err
	}
	return u, nil
}

// ChangePassword changes the caller's own password. The current password must
// verify (otherwise Invalid("current_password")); the new one is validated
// (Invalid("new_password")) and hashed outside the transaction. If the
// password changed meanwhile, the change is a Conflict.
func (s *Users) ChangePassword(ctx context.Context, current, next string) error {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "change your password")
	if err != nil {
		return err
	}
	if current == "" || len(current) > domain.MaxPasswordLen {
		return domain.Invalid("current_password", "current_password is wrong")
	}
	if err := domain.ValidatePassword(next); err != nil {
		return withField(err, "new_password")
	}
	u, err := readTenant(ctx, s.uow, p, func(ctx context.Context) (domain.User, error) {
		return s.users.Get(ctx, p.UserID)
	})
	if err != nil {
		return err
	}
	ok, err := s.hasher.Verify(ctx, current, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		// Like a failed login: audited, and a failure to audit is logged, not
		// returned (the caller's answer is the same either way).
		if err := s.audit.Record(ctx, domain.AuditEvent{CompanyID: int64(p.CompanyID), Actor: p.Actor(),
			Action: "password.change_failed", Target: "user:" + itoa(p.UserID)}); err != nil {
			slog.ErrorContext(ctx, "audit log write failed", "action", "password.change_failed", "err", err)
		}
		return domain.Invalid("current_password", "current_password is wrong")
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		cur, err := s.users.Get(ctx, p.UserID)
		if err != nil {
			return none{}, domain.Activity{}, err
		}
		if cur.PasswordHash != u.PasswordHash {
			return none{}, domain.Activity{}, domain.Conflict("the password was changed meanwhile; try again")
		}
		cur.PasswordHash = hash
		if _, err := s.admin.Update(ctx, cur); err != nil {
			return none{}, domain.Activity{}, err
		}
		if err := s.audit.Record(ctx, domain.AuditEvent{CompanyID: int64(p.CompanyID), Actor: p.Actor(),
			Action: "user.password_changed", Target: "user:" + itoa(p.UserID)}); err != nil {
			return none{}, domain.Activity{}, err
		}
		return none{}, act("change_password", "user", p.UserID, nil), nil
	})
	return err
}

// Delete removes a user (admin only) together with its email lookup row, in
// one transaction, audited as "user.deleted". Deleting the last admin is a
// Conflict. The user's tokens stop working at once in this process.
func (s *Users) Delete(ctx context.Context, id int64) error {
	p, err := requireTenantRole(ctx, domain.RoleAdmin, "delete users")
	if err != nil {
		return err
	}
	if id <= 0 {
		return domain.NotFound("user")
	}
	_, err = writeTenant(ctx, s.uow, s.activity, p, func(ctx context.Context) (none, domain.Activity, error) {
		last, err := s.lastAdmin(ctx, id)
		if err != nil {
			return none{}, domain.Activity{}, err
		}
		if last {
			return none{}, domain.Activity{}, domain.Conflict("cannot delete the last admin of the company")
		}
		u, err := s.users.Get(ctx, id)
		if err != nil {
			return none{}, domain.Activity{}, err
		}
		if err := s.admin.Delete(ctx, id); err != nil {
			return none{}, domain.Activity{}, err
		}
		if err := s.lookup.Release(ctx, u.Email); err != nil {
			return none{}, domain.Activity{}, err
		}
		if err := s.audit.Record(ctx, domain.AuditEvent{CompanyID: int64(p.CompanyID), Actor: p.Actor(),
			Action: "user.deleted", Target: "user:" + itoa(id),
			Detail: map[string]string{"email": u.Email, "role": string(u.Role)}}); err != nil {
			return none{}, domain.Activity{}, err
		}
		return none{}, act("delete", "user", id, map[string]string{"email": u.Email}), nil
	})
	s.principals.Invalidate(ctx, p.CompanyID, id)
	return err
}
