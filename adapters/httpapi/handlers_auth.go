package httpapi

import (
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// register: POST /api/v1/auth/register → 201 user. The caller is the platform
// admin, an admin of the target company, or the holder of an invitation
// (invitation_token); app.Auth.Register decides, this handler only refuses an
// anonymous caller without an invitation before anything else happens.
func (a *api) register(w http.ResponseWriter, r *http.Request) {
	var in registerRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, authed := app.PrincipalFromContext(r.Context()); !authed && in.InvitationToken == "" {
		a.fail(w, r, domain.Errorf(domain.CodeUnauthenticated, "authentication or an invitation_token is required"))
		return
	}
	ri := app.RegisterInput{Name: in.Name, Email: in.Email, Password: in.Password, Role: in.Role,
		InvitationToken: in.InvitationToken}
	if in.CompanyID != nil {
		if *in.CompanyID <= 0 {
			a.fail(w, r, domain.Invalid("company_id", "company_id must be a positive integer"))
			return
		}
		ri.CompanyID = tenancy.CompanyID(*in.CompanyID)
	}
	u, company, err := a.svc.Auth.Register(r.Context(), ri)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u, company))
}

// invite: POST /api/v1/invitations {"email","role"} → 201 with the
// single-use token (shown once).
func (a *api) invite(w http.ResponseWriter, r *http.Request) {
	var in invitationRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	inv, err := a.svc.Auth.Invite(r.Context(), in.Email, in.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, invitationJSON{ID: inv.Invitation.ID, Email: inv.Invitation.Email,
		Role: string(inv.Invitation.Role), Token: inv.Token, ExpiresAt: utc(inv.Invitation.ExpiresAt)})
}

// signup: POST /api/v1/signup → 201 with an access token, the new company
// and its first admin. Disabled: 403, the same answer the use case gives.
func (a *api) signup(w http.ResponseWriter, r *http.Request) {
	if !a.cfg.SignupEnabled {
		a.fail(w, r, domain.Errorf(domain.CodeForbidden, "self-service signup is disabled"))
		return
	}
	var in signupRequest
	if err := readJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	tok, err := a.svc.Auth.Signup(r.Context(), app.SignupInput{CompanyName: in.CompanyName, Name: in.Name,
		Email: in.Email, Password: in.Password})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, signupJSON{
		tokenJSON: toTokenJSON(tok.Token, tok.ExpiresIn),
		Company:   toCompanyJSON(tok.Company),
		User:      toUserJSON(tok.User, tenancy.CompanyID(tok.Company.ID)),
	})
}

// login: POST /api/v1/auth/login, the OAuth2 password grant, as
// application/x-www-form-urlencoded (username, password, grant_type=password)
// or the same fields as JSON → 200 {"access_token","token_type","expires_in"}.
// Unknown emails and wrong passwords get the same 401.
func (a *api) login(w http.ResponseWriter, r *http.Request) {
	in, err := readLogin(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	tok, err := a.svc.Auth.Login(r.Context(), in.Username, in.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, toTokenJSON(tok.Token, tok.ExpiresIn))
}

func readLogin(r *http.Request) (loginRequest, error) {
	var in loginRequest
	mt, err := mediaType(r)
	if err != nil {
		return in, err
	}
	switch mt {
	case mediaJSON:
		err = decodeJSON(r, &in)
	case mediaForm:
		in, err = readLoginForm(r)
	default:
		err = unsupportedMediaType("the request body must be " + mediaForm + " or " + mediaJSON)
	}
	if err != nil {
		return in, err
	}
	if in.GrantType != "" && in.GrantType != "password" {
		return in, badRequest("grant_type", "grant_type must be \"password\"")
	}
	if in.Username == "" {
		return in, domain.Invalid("username", "username is required")
	}
	if in.Password == "" {
		return in, domain.Invalid("password", "password is required")
	}
	return in, nil
}

// readLoginForm parses the form body only (never the query string, so that a
// password is not taken from a URL). Each known field may appear once; the
// OAuth2 client fields scope, client_id and client_secret are accepted and
// ignored; anything else is a 400.
func readLoginForm(r *http.Request) (loginRequest, error) {
	var in loginRequest
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return in, payloadTooLarge(mbe.Limit)
		}
		return in, badRequest("", "the request body could not be read")
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return in, badRequest("", "the request body is not a valid form")
	}
	for k, vs := range vals {
		var dst *string
		switch k {
		case "username":
			dst = &in.Username
		case "password":
			dst = &in.Password
		case "grant_type":
			dst = &in.GrantType
		case "scope", "client_id", "client_secret":
			continue
		default:
			return in, badRequest(k, "unknown field "+`"`+k+`"`)
		}
		if len(vs) != 1 {
			return in, badRequest(k, k+" must be given once")
		}
		*dst = vs[0]
	}
	return in, nil
}

// me: GET /api/v1/auth/me → the calling user and its company_id.
func (a *api) me(w http.ResponseWriter, r *http.Request) {
	u, company, err := a.svc.Auth.Me(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u, company))
}
