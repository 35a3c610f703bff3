package domain

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is a user's role inside its company.
type Role string

// The roles, from most to least privileged.
const (
	RoleAdmin  Role = "admin"  // manages users, invitations and reference data
	RoleUser   Role = "user"   // writes catalog data
	RoleViewer Role = "viewer" // reads only
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleUser, RoleViewer:
		return r, nil
	}
	return "", Invalid("role", "role must be one of admin, user, viewer")
}

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleUser:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// AtLeast reports whether r grants at least the rights of min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }

// User is a person inside one company. PasswordHash is a PHC string and never
// leaves the application.
type User struct {
	ID           int64
	Name         string
	Email        string
	PasswordHash string
	Role         Role
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Limits on user input.
const (
	MaxNameLen        = 200
	MaxEmailLen       = 254
	MinPasswordLen    = 8
	MaxPasswordLen    = 1024
	MaxDescriptionLen = 2000
)

// NormalizeEmail validates an address and returns it trimmed and lower-cased,
// the form in which emails are stored and compared.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", Invalid("email", "email is required")
	}
	if len(s) > MaxEmailLen {
		return "", Invalid("email", "email is longer than %d characters", MaxEmailLen)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", Invalid("email", "email is not a valid address")
	}
	return s, nil
}

// ValidateName checks a human-readable name (users, companies, reference data)
// and returns it trimmed.
func ValidateName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid(field, "%s is required", field)
	}
	if !utf8.ValidString(s) {
		return "", Invalid(field, "%s is not valid UTF-8", field)
	}
	if utf8.RuneCountInString(s) > MaxNameLen {
		return "", Invalid(field, "%s is longer than %d characters", field, MaxNameLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", Invalid(field, "%s contains control characters", field)
		}
	}
	return s, nil
}

// ValidateDescription checks a free-text description.
func ValidateDescription(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Invalid("description", "description is not valid UTF-8")
	}
	if utf8.RuneCountInString(s) > MaxDescriptionLen {
		return "", Invalid("description", "description is longer than %d characters", MaxDescriptionLen)
	}
	if strings.ContainsRune(s, 0) {
		return "", Invalid("description", "description contains a NUL character")
	}
	return s, nil
}

// ValidatePassword checks a new password. It is used exactly as given: no
// trimming and no truncation.
func ValidatePassword(s string) error {
	if utf8.RuneCountInString(s) < MinPasswordLen {
		return Invalid("password", "password must have at least %d characters", MinPasswordLen)
	}
	if len(s) > MaxPasswordLen {
		return Invalid("password", "password is longer than %d bytes", MaxPasswordLen)
	}
	return nil
}
