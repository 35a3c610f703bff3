package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// AuthConfig tunes the auth use cases.
type AuthConfig struct {
	// SignupEnabled allows self-service signup (a new company and its first admin).
	SignupEnabled bool
	// InvitationTTL is how long an invitation can be redeemed; default 72h.
	InvitationTTL time.Duration
	// DummyPHC is a hash with production parameters verified for unknown
	// emails so that they cost the same as wrong passwords.
	DummyPHC string
	// PrincipalTTL is the longest Authenticate trusts a role cached in
	// AuthDeps.Principals (capped by the cache's own TTL); default
	// DefaultPrincipalTTL. Build the cache with the same value.
	PrincipalTTL time.Duration
}

// AuthDeps are the ports the auth use cases need.
type AuthDeps struct {
	UoW         ports.UnitOfWork
	Directory   ports.TenantDirectory
	Provisioner ports.Provisioner
	Users       ports.UserRepository
	Lookup      ports.EmailLookup
	Invitations ports.InvitationRepository
	Audit       ports.AuditLog
	Activity    ports.ActivityLog // the tenant's activity log (registrations, invitations)
	Hasher      ports.PasswordHasher
	Tokens      ports.TokenIssuer
	Clock       ports.Clock
	Limiter     ports.LoginLimiter
	// Principals caches the current role of authenticated users; nil means
	// every authentication reads the user row.
	Principals *PrincipalCache
}

// Auth holds registration, invitations, signup, login and authentication.
type Auth struct {
	d   AuthDeps
	cfg AuthConfig
}

// NewAuth wires the auth use cases.
func NewAuth(d AuthDeps, cfg AuthConfig) *Auth {
	if cfg.InvitationTTL <= 0 {
		cfg.InvitationTTL = 72 * time.Hour
	}
	if cfg.PrincipalTTL <= 0 {
		cfg.PrincipalTTL = DefaultPrincipalTTL
	}
	return &Auth{d: d, cfg: cfg}
}

// AccessToken is the result of a login or signup.
type AccessToken struct {
	Token     string
	ExpiresIn time.Duration
	User      domain.User
	CompanyID tenancy.CompanyID
	// Company is the user's company: complete after Signup, only ID after Login.
	Company domain.Company
}

// RateLimitedError is the cause wrapped in the too-many-requests
// *domain.Error of a throttled login: how long the caller should wait.
type RateLimitedError struct {
	RetryAfter time.Duration
}

// Error says how long to wait; clients see the domain.Error's message instead.
func (e *RateLimitedError) Error() string {
	return "rate limited; retry after " + e.RetryAfter.String()
}

// RetryAfter returns the wait carried by a rate-limited error (anywhere in
// err's chain) and whether there was one.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	return 0, false
}

// errBadCredentials is the one answer for unknown emails and wrong passwords.
func errBadCredentials() error {
	return domain.Errorf(domain.CodeUnauthenticated, "invalid email or password")
}

// Login checks credentials and issues an access token. Unknown emails and
// wrong passwords cost one password verification each and answer the same
// error; failed attempts are rate-limited per account.
func (a *Auth) Login(ctx context.Context, email, password string) (AccessToken, error) {
	key := strings.ToLower(strings.TrimSpace(email))
	if !a.d.Limiter.Allow(ctx, key) {
		a.record(ctx, domain.AuditEvent{Actor: key, Action: "login.throttled"})
		wait := a.d.Limiter.RetryAfter(ctx, key)
		if wait < time.Second {
			wait = time.Second // blocked now, so never "retry at once"
		}
		e := domain.Errorf(domain.CodeTooManyRequests, "too many failed logins for this account; try again later")
		e.Err = &RateLimitedError{RetryAfter: wait}
		return AccessToken{}, e
	}
	fail := func(reason string) (AccessToken, error) {
		a.d.Limiter.Failed(ctx, key)
		a.record(ctx, domain.AuditEvent{Actor: key, Action: "login.failed", Detail: map[string]string{"reason": reason}})
		return AccessToken{}, errBadCredentials()
	}
	norm, err := domain.NormalizeEmail(email)
	if err != nil || password == "" || len(password) > domain.MaxPasswordLen {
		a.dummyVerify(ctx, password)
		return fail("malformed")
	}
	company, err := a.d.Lookup.Find(ctx, norm)
	if domain.IsCode(err, domain.CodeNotFound) {
		a.dummyVerify(ctx, password)
		return fail("unknown email")
	}
	if err != nil {
		return AccessToken{}, err
	}
	var user domain.User
	err = a.d.UoW.ReadTenant(ctx, company, func(ctx context.Context) error {
		var err error
		user, err = a.d.Users.GetByEmail(ctx, norm)
		return err
	})
	if domain.IsCode(err, domain.CodeNotFound) {
		a.dummyVerify(ctx, password)
		return fail("lookup without user")
	}
	if err != nil {
		return AccessToken{}, err
	}
	ok, err := a.d.Hasher.Verify(ctx, password, user.PasswordHash)
	if err != nil {
		return AccessToken{}, err
	}
	if !ok {
		return fail("wrong password")
	}
	a.d.Limiter.Succeeded(ctx, key)
	tok, err := a.issue(ctx, user, company)
	if err != nil {
		return AccessToken{}, err
	}
	a.record(ctx, domain.AuditEvent{CompanyID: int64(company), Actor: userActor(user), Action: "login.succeeded"})
	return tok, nil
}

func (a *Auth) dummyVerify(ctx context.Context, password string) {
	if a.cfg.DummyPHC != "" {
		_, _ = a.d.Hasher.Verify(ctx, password, a.cfg.DummyPHC)
	}
}

func (a *Auth) issue(ctx context.Context, u domain.User, company tenancy.CompanyID) (AccessToken, error) {
	now := a.d.Clock.Now()
	tok, ttl, err := a.d.Tokens.Issue(ctx, ports.Claims{UserID: u.ID, CompanyID: company, Role: u.Role, IssuedAt: now})
	if err != nil {
		return AccessToken{}, err
	}
	return AccessToken{Token: tok, ExpiresIn: ttl, User: u, CompanyID: company, Company: domain.Company{ID: int64(company)}}, nil
}

// Authenticate verifies a bearer token and returns the principal. After the
// signature, the company must still exist (directory, invalidated on delete)
// and so must the user; the role is the user's current one — read from the
// user row, or from AuthDeps.Principals when a fresh entry is cached there.
func (a *Auth) Authenticate(ctx context.Context, token string) (Principal, error) {
	claims, err := a.d.Tokens.Verify(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	exists, err := a.d.Directory.Exists(ctx, claims.CompanyID)
	if err != nil {
		return Principal{}, err
	}
	if !exists {
		a.record(ctx, domain.AuditEvent{CompanyID: int64(claims.CompanyID), Actor: "user:" + itoa(claims.UserID),
			Action: "token.rejected", Detail: map[string]string{"reason": "company no longer exists"}})
		return Principal{}, domain.Errorf(domain.CodeUnauthenticated, "invalid or expired token")
	}
	role, err := a.d.Principals.Lookup(ctx, claims.CompanyID, claims.UserID, a.cfg.PrincipalTTL,
		func(ctx context.Context) (domain.Role, error) {
			var user domain.User
			err := a.d.UoW.ReadTenant(ctx, claims.CompanyID, func(ctx context.Context) error {
				var err error
				user, err = a.d.Users.Get(ctx, claims.UserID)
				return err
			})
			return user.Role, err
		})
	if domain.IsCode(err, domain.CodeNotFound) {
		return Principal{}, domain.Errorf(domain.CodeUnauthenticated, "invalid or expired token")
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{CompanyID: claims.CompanyID, UserID: claims.UserID, Role: role}, nil
}

// Me returns the calling user and its company.
func (a *Auth) Me(ctx context.Context) (domain.User, tenancy.CompanyID, error) {
	p, err := requireTenantRole(ctx, domain.RoleViewer, "read your profile")
	if err != nil {
		return domain.User{}, 0, err
	}
	var u domain.User
	err = a.d.UoW.ReadTenant(ctx, p.CompanyID, func(ctx context.Context) error {
		var err error
		u, err = a.d.Users.Get(ctx, p.UserID)
		return err
	})
	return u, p.CompanyID, err
}

// RegisterInput is a registration request. With InvitationToken, the company
// and role come from the invitation.
type RegisterInput struct {
	Name            string
	Email           string
	Password        string
	CompanyID       tenancy.CompanyID // 0 when not given
	Role            string            // "" when not given
	InvitationToken string
}

type newUser struct {
	name, email, hash string
	role              domain.Role
}

func validateNewUser(name, email, password string) (n newUser, err error) {
	if n.name, err = domain.ValidateName("name", name); err != nil {
		return n, err
	}
	if n.email, err = domain.NormalizeEmail(email); err != nil {
		return n, err
	}
	return n, domain.ValidatePassword(password)
}

// Register creates a user in a company. Allowed for the platform admin (any
// company, any role), an admin of that company, or the holder of a valid
// invitation. The tenant user row, the email lookup row and the audit event
// commit together. It returns the user and the company it joined.
func (a *Auth) Register(ctx context.Context, in RegisterInput) (domain.User, tenancy.CompanyID, error) {
	u, company, err := a.register(ctx, in)
	if err != nil {
		return domain.User{}, 0, err
	}
	return u, company, nil
}

func (a *Auth) register(ctx context.Context, in RegisterInput) (domain.User, tenancy.CompanyID, error) {
	p, ok := PrincipalFromContext(ctx)
	if !ok && in.InvitationToken == "" {
		return domain.User{}, 0, errUnauthenticated() // before validation: strangers learn nothing
	}
	nu, err := validateNewUser(in.Name, in.Email, in.Password)
	if err != nil {
		return domain.User{}, 0, err
	}
	if in.InvitationToken != "" {
		return a.registerInvited(ctx, in, nu)
	}
	company := in.CompanyID
	switch {
	case p.PlatformAdmin:
		if !company.Valid() {
			return domain.User{}, 0, domain.Invalid("company_id", "company_id is required")
		}
	case p.Role == domain.RoleAdmin:
		if company == 0 {
			company = p.CompanyID
		}
		if company != p.CompanyID {
			a.record(ctx, domain.AuditEvent{CompanyID: int64(p.CompanyID), Actor: p.Actor(), Action: "register.cross_tenant_denied",
				Target: "company:" + company.String()})
			return domain.User{}, 0, errForbidden("register users in another company")
		}
	default:
		return domain.User{}, 0, errForbidden("register users")
	}
	nu.role = domain.RoleUser
	if in.Role != "" {
		if nu.role, err = domain.ParseRole(in.Role); err != nil {
			return domain.User{}, 0, err
		}
	}
	exists, err := a.d.Directory.Exists(ctx, company)
	if err != nil {
		return domain.User{}, 0, err
	}
	if !exists {
		return domain.User{}, 0, domain.Invalid("company_id", "company %d does not exist", company)
	}
	if err := a.emailFree(ctx, nu.email); err != nil {
		return domain.User{}, 0, err
	}
	if nu.hash, err = a.d.Hasher.Hash(ctx, in.Password); err != nil {
		return domain.User{}, 0, err
	}
	var u domain.User
	err = a.d.UoW.WithinTenant(ctx, company, func(ctx context.Context) error {
		var err error
		u, err = a.createUser(ctx, company, nu, p.Actor(), p.UserID)
		return err
	})
	return u, company, err
}

func (a *Auth) registerInvited(ctx context.Context, in RegisterInput, nu newUser) (domain.User, tenancy.CompanyID, error) {
	company, hash, ok := parseInvitationToken(in.InvitationToken)
	invalid := domain.Errorf(domain.CodeUnauthenticated, "invalid, used or expired invitation")
	if !ok {
		return domain.User{}, 0, invalid
	}
	if in.CompanyID != 0 && in.CompanyID != company {
		return domain.User{}, 0, domain.Invalid("company_id", "company_id is set by the invitation")
	}
	exists, err := a.d.Directory.Exists(ctx, company)
	if err != nil {
		return domain.User{}, 0, err
	}
	if !exists {
		return domain.User{}, 0, invalid
	}
	if err := a.emailFree(ctx, nu.email); err != nil {
		return domain.User{}, 0, err
	}
	if nu.hash, err = a.d.Hasher.Hash(ctx, in.Password); err != nil {
		return domain.User{}, 0, err
	}
	var u domain.User
	err = a.d.UoW.WithinTenant(ctx, company, func(ctx context.Context) error {
		inv, err := a.d.Invitations.GetByTokenHashForUpdate(ctx, hash)
		if domain.IsCode(err, domain.CodeNotFound) {
			return invalid
		}
		if err != nil {
			return err
		}
		now := a.d.Clock.Now()
		if !inv.Usable(now) {
			return invalid
		}
		if inv.Email != nu.email {
			return domain.Errorf(domain.CodeForbidden, "the invitation is for another email address")
		}
		if in.Role != "" && domain.Role(in.Role) != inv.Role {
			return domain.Invalid("role", "role is set by the invitation")
		}
		nu.role = inv.Role
		if err := a.d.Invitations.MarkUsed(ctx, inv.ID, now); err != nil {
			return err
		}
		u, err = a.createUser(ctx, company, nu, "invitation:"+itoa(inv.ID), 0)
		return err
	})
	return u, company, err
}

// emailFree answers 409 early, before the costly hash; the unique keys still
// decide races inside the transaction.
func (a *Auth) emailFree(ctx context.Context, email string) error {
	_, err := a.d.Lookup.Find(ctx, email)
	switch {
	case err == nil:
		return domain.Conflict("email already registered")
	case domain.IsCode(err, domain.CodeNotFound):
		return nil
	default:
		return err
	}
}

// createUser runs inside a tenant unit of work; the user row, its lookup row,
// the audit event and the activity entry commit together.
func (a *Auth) createUser(ctx context.Context, company tenancy.CompanyID, nu newUser, actor string, actorID int64) (domain.User, error) {
	u, err := a.d.Users.Create(ctx, domain.User{Name: nu.name, Email: nu.email, PasswordHash: nu.hash, Role: nu.role})
	if err != nil {
		return domain.User{}, err
	}
	if err := a.d.Lookup.Claim(ctx, nu.email, company); err != nil {
		return domain.User{}, err
	}
	if err := a.d.Audit.Record(ctx, domain.AuditEvent{CompanyID: int64(company), Actor: actor, Action: "user.registered",
		Target: "user:" + itoa(u.ID), Detail: map[string]string{"email": u.Email, "role": string(u.Role)}}); err != nil {
		return domain.User{}, err
	}
	if err := a.d.Activity.Record(ctx, domain.Activity{ActorID: actorID, Actor: actor, Action: "create", EntityType: "user",
		EntityID: u.ID, Detail: map[string]string{"email": u.Email, "role": string(u.Role)}}); err != nil {
		return domain.User{}, err
	}
	return u, nil
}

// IssuedInvitation is an invitation with its token, shown once.
type IssuedInvitation struct {
	Invitation domain.Invitation
	Token      string
}

// Invite lets a tenant admin invite an email with a role. The token is
// single-use and expires after InvitationTTL; only its hash is stored.
func (a *Auth) Invite(ctx context.Context, email, role string) (IssuedInvitation, error) {
	p, err := requireTenantRole(ctx, domain.RoleAdmin, "invite users")
	if err != nil {
		return IssuedInvitation{}, err
	}
	norm, err := domain.NormalizeEmail(email)
	if err != nil {
		return IssuedInvitation{}, err
	}
	if role == "" {
		return IssuedInvitation{}, domain.Invalid("role", "role is required")
	}
	r, err := domain.ParseRole(role)
	if err != nil {
		return IssuedInvitation{}, err
	}
	if err := a.emailFree(ctx, norm); err != nil {
		return IssuedInvitation{}, err
	}
	token, hash, err := newInvitationToken(p.CompanyID)
	if err != nil {
		return IssuedInvitation{}, err
	}
	now := a.d.Clock.Now()
	var inv domain.Invitation
	err = a.d.UoW.WithinTenant(ctx, p.CompanyID, func(ctx context.Context) error {
		var err error
		inv, err = a.d.Invitations.Create(ctx, domain.Invitation{Email: norm, Role: r, TokenHash: hash,
			ExpiresAt: now.Add(a.cfg.InvitationTTL), CreatedBy: p.UserID})
		if err != nil {
			return err
		}
		if err := a.d.Audit.Record(ctx, domain.AuditEvent{CompanyID: int64(p.CompanyID), Actor: p.Actor(),
			Action: "invitation.created", Target: "invitation:" + itoa(inv.ID), Detail: map[string]string{"email": norm, "role": string(r)}}); err != nil {
			return err
		}
		return a.d.Activity.Record(ctx, domain.Activity{ActorID: p.UserID, Actor: p.Actor(), Action: "create",
			EntityType: "invitation", EntityID: inv.ID, Detail: map[string]string{"email": norm, "role": string(r)}})
	})
	if err != nil {
		return IssuedInvitation{}, err
	}
	return IssuedInvitation{Invitation: inv, Token: token}, nil
}

// SignupInput is a self-service signup.
type SignupInput struct {
	CompanyName, Name, Email, Password string
}

// Signup creates a new company and its first admin in one transaction and
// returns an access token for that admin. It never joins an existing company.
func (a *Auth) Signup(ctx context.Context, in SignupInput) (AccessToken, error) {
	if !a.cfg.SignupEnabled {
		return AccessToken{}, domain.Errorf(domain.CodeForbidden, "self-service signup is disabled")
	}
	companyName, err := domain.ValidateName("company_name", in.CompanyName)
	if err != nil {
		return AccessToken{}, err
	}
	nu, err := validateNewUser(in.Name, in.Email, in.Password)
	if err != nil {
		return AccessToken{}, err
	}
	nu.role = domain.RoleAdmin
	if err := a.emailFree(ctx, nu.email); err != nil {
		return AccessToken{}, err
	}
	if nu.hash, err = a.d.Hasher.Hash(ctx, in.Password); err != nil {
		return AccessToken{}, err
	}
	var u domain.User
	c, err := a.d.Provisioner.Create(ctx, companyName, func(ctx context.Context, id tenancy.CompanyID) error {
		var err error
		if u, err = a.createUser(ctx, id, nu, "signup", 0); err != nil {
			return err
		}
		return a.d.Audit.Record(ctx, domain.AuditEvent{CompanyID: int64(id), Actor: "signup", Action: "company.created",
			Target: "company:" + id.String(), Detail: map[string]string{"name": companyName, "admin": nu.email}})
	})
	if err != nil {
		return AccessToken{}, err
	}
	slog.InfoContext(ctx, "company signed up", "company_id", c.ID)
	tok, err := a.issue(ctx, u, tenancy.CompanyID(c.ID))
	if err != nil {
		return AccessToken{}, err
	}
	tok.Company = c
	return tok, nil
}

// record writes an audit event outside any unit of work; a failure is logged,
// never returned (the event it describes already happened or was refused).
func (a *Auth) record(ctx context.Context, e domain.AuditEvent) {
	if err := a.d.Audit.Record(ctx, e); err != nil {
		slog.ErrorContext(ctx, "audit log write failed", "action", e.Action, "err", err)
	}
}

func userActor(u domain.User) string { return "user:" + itoa(u.ID) }

// Invitation tokens are "<company id>.<43 base64url chars of 32 random bytes>".
// The company part only routes the lookup to a schema; the secret part is
// checked against its SHA-256 stored in that schema.
func newInvitationToken(company tenancy.CompanyID) (token string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(secret))
	return company.String() + "." + secret, sum[:], nil
}

func parseInvitationToken(token string) (tenancy.CompanyID, []byte, bool) {
	idPart, secret, ok := strings.Cut(token, ".")
	if !ok || len(secret) != 43 {
		return 0, nil, false
	}
	id, err := tenancy.ParseCompanyID(idPart)
	if err != nil {
		return 0, nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return 0, nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	return id, sum[:], true
}
