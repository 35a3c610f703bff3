package domain_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/schemata/schemata/domain"
)

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{" A@B.example ": "a@b.example", "x.y+z@sub.example.org": "x.y+z@sub.example.org"}
	for in, want := range good {
		got, err := domain.NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "plain", "a@b", "Bob <b@b.example>", "a@@b.example", strings.Repeat("a", 250) + "@b.example", "a@b.example, c@d.example"} {
		if _, err := domain.NormalizeEmail(in); !domain.IsCode(err, domain.CodeInvalid) {
			t.Errorf("NormalizeEmail(%q) accepted", in)
		}
	}
}

func TestValidateName(t *testing.T) {
	if got, err := domain.ValidateName("name", "  Ünïcode Co  "); err != nil || got != "Ünïcode Co" {
		t.Fatalf("got %q %v", got, err)
	}
	if got, err := domain.ValidateName("name", "Robert'); DROP TABLE users;--"); err != nil || got != "Robert'); DROP TABLE users;--" {
		t.Fatalf("names are data, stored verbatim: %q %v", got, err)
	}
	for _, in := range []string{"", "   ", "a\nb", "a\x00", string([]byte{0xff, 0xfe}), strings.Repeat("x", domain.MaxNameLen+1)} {
		_, err := domain.ValidateName("name", in)
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != "name" {
			t.Errorf("ValidateName(%q) = %v", in, err)
		}
	}
}

func TestValidatePasswordNoTruncation(t *testing.T) {
	if err := domain.ValidatePassword("short"); err == nil {
		t.Fatal("short password accepted")
	}
	if err := domain.ValidatePassword(strings.Repeat("p", 200)); err != nil {
		t.Fatalf("200-byte password refused: %v", err)
	}
	if err := domain.ValidatePassword(strings.Repeat("p", domain.MaxPasswordLen+1)); err == nil {
		t.Fatal("oversized password accepted")
	}
}

func TestRoles(t *testing.T) {
	for _, s := range []string{"admin", "user", "viewer"} {
		if r, err := domain.ParseRole(s); err != nil || string(r) != s {
			t.Fatalf("ParseRole(%q)", s)
		}
	}
	for _, s := range []string{"", "Admin", "root", "admin "} {
		if _, err := domain.ParseRole(s); err == nil {
			t.Fatalf("ParseRole(%q) accepted", s)
		}
	}
	if !domain.RoleAdmin.AtLeast(domain.RoleUser) || domain.RoleViewer.AtLeast(domain.RoleUser) || domain.Role("x").AtLeast(domain.Role("y")) {
		t.Fatal("role order wrong")
	}
}

func TestErrorCodes(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", domain.Invalid("limit", "bad"))
	if domain.ErrorCode(err) != domain.CodeInvalid || !domain.IsCode(err, domain.CodeInvalid) {
		t.Fatal("code lost through wrapping")
	}
	if domain.ErrorCode(errors.New("x")) != domain.CodeInternal || domain.IsCode(nil, domain.CodeInternal) {
		t.Fatal("plain errors are internal; nil has no code")
	}
}

func TestPageClamp(t *testing.T) {
	cases := []struct{ in, want domain.Page }{
		{domain.Page{}, domain.Page{Limit: domain.DefaultPageSize}},
		{domain.Page{Limit: 1000, After: -5}, domain.Page{Limit: domain.MaxPageSize}},
		{domain.Page{Limit: 7, After: 9}, domain.Page{Limit: 7, After: 9}},
	}
	for _, c := range cases {
		if got := c.in.Clamp(); got != c.want {
			t.Errorf("Clamp(%+v) = %+v", c.in, got)
		}
	}
}

func TestSeedData(t *testing.T) {
	n := 0
	for _, k := range domain.RefKinds {
		n += len(domain.DefaultReferenceData[k])
	}
	if n != 21 {
		t.Fatalf("seed rows = %d, want 21", n)
	}
}
