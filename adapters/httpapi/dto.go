package httpapi

import (
	"time"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// Response bodies. Field names are snake_case; times are RFC 3339 in UTC.

type companyJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func toCompanyJSON(c domain.Company) companyJSON {
	return companyJSON{ID: c.ID, Name: c.Name, CreatedAt: utc(c.CreatedAt)}
}

func companyID(c domain.Company) int64 { return c.ID }

// userJSON never carries the password or its hash.
type userJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CompanyID int64     `json:"company_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toUserJSON(u domain.User, company tenancy.CompanyID) userJSON {
	return userJSON{ID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role), CompanyID: int64(company),
		CreatedAt: utc(u.CreatedAt), UpdatedAt: utc(u.UpdatedAt)}
}

type refItemJSON struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toRefItemJSON(it domain.RefItem) refItemJSON {
	return refItemJSON{ID: it.ID, Name: it.Name, Description: it.Description,
		CreatedAt: utc(it.CreatedAt), UpdatedAt: utc(it.UpdatedAt)}
}

func refItemID(it domain.RefItem) int64 { return it.ID }

type invitationJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// tokenJSON is an OAuth2 access token response (RFC 6749 §5.1).
type tokenJSON struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

func toTokenJSON(token string, expiresIn time.Duration) tokenJSON {
	return tokenJSON{AccessToken: token, TokenType: "bearer", ExpiresIn: int64(expiresIn / time.Second)}
}

// signupJSON is the answer to a signup: an access token for the new
// company's first admin, the company and the admin.
type signupJSON struct {
	tokenJSON
	Company companyJSON `json:"company"`
	User    userJSON    `json:"user"`
}

// Request bodies. Unknown fields are rejected.

type companyRequest struct {
	Name string `json:"name"`
}

type registerRequest struct {
	Name            string `json:"name"`
	Email           string `json:"email"`
	Password        string `json:"password"`
	CompanyID       *int64 `json:"company_id"`
	Role            string `json:"role"`
	InvitationToken string `json:"invitation_token"`
}

type invitationRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

type signupRequest struct {
	CompanyName string `json:"company_name"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Password    string `json:"password"`
}

// loginRequest is the JSON form of the OAuth2 password grant.
type loginRequest struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	GrantType string `json:"grant_type"`
}

type refItemRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type refPatchRequest struct {
	Name        optional[string] `json:"name"`
	Description optional[string] `json:"description"`
}
