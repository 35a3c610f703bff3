package token_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/schemata/schemata/adapters/token"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

const (
	testIssuer   = "https://schemata.test"
	testAudience = "schemata-api"
)

// t0 is the fixed time every test starts at.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func secret(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func kidOf(s []byte) string {
	sum := sha256.Sum256(s)
	return hex.EncodeToString(sum[:8])
}

func newIssuer(t *testing.T, clock ports.Clock, mods ...func(*token.Config)) *token.Issuer {
	t.Helper()
	cfg := token.Config{
		Secret:   secret('a'),
		Issuer:   testIssuer,
		Audience: testAudience,
		Clock:    clock,
	}
	for _, m := range mods {
		m(&cfg)
	}
	iss, err := token.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return iss
}

var sample = ports.Claims{UserID: 42, CompanyID: 7, Role: domain.RoleUser}

func issue(t *testing.T, iss *token.Issuer, c ports.Claims) string {
	t.Helper()
	s, _, err := iss.Issue(context.Background(), c)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return s
}

// validClaims are the claims the issuer would write at t0.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub":        "42",
		"company_id": 7,
		"role":       "user",
		"iss":        testIssuer,
		"aud":        []string{testAudience},
		"iat":        t0.Unix(),
		"exp":        t0.Add(time.Hour).Unix(),
		"jti":        "test-jti",
	}
}

func validHeader(s []byte) map[string]any {
	return map[string]any{"typ": token.Type, "kid": kidOf(s)}
}

// sign signs c with m and key; hdr entries override the default header and a
// nil value removes the entry.
func sign(t *testing.T, m jwt.SigningMethod, key any, hdr map[string]any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	for k, v := range hdr {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for key, val := range c {
		out[key] = val
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func seg(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hs256(key []byte, text string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(text))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	clock := newClock(t0.Add(500 * time.Millisecond))
	iss := newIssuer(t, clock, func(c *token.Config) { c.TTL = 15 * time.Minute })
	for _, role := range []domain.Role{domain.RoleAdmin, domain.RoleUser, domain.RoleViewer} {
		in := ports.Claims{UserID: 9007199254740993, CompanyID: 1 << 40, Role: role}
		s, expiresIn, err := iss.Issue(context.Background(), in)
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		if expiresIn != 15*time.Minute {
			t.Errorf("expiresIn = %v, want 15m", expiresIn)
		}
		got, err := iss.Verify(context.Background(), s)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		want := ports.Claims{
			UserID:    in.UserID,
			CompanyID: in.CompanyID,
			Role:      role,
			IssuedAt:  t0,
			ExpiresAt: t0.Add(15 * time.Minute),
		}
		if got.UserID != want.UserID || got.CompanyID != want.CompanyID || got.Role != want.Role ||
			!got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Errorf("Verify = %+v, want %+v", got, want)
		}
	}
}

func TestTokenShape(t *testing.T) {
	iss := newIssuer(t, newClock(t0))
	s1 := issue(t, iss, sample)
	s2 := issue(t, iss, sample)
	parts := strings.Split(s1, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	decode := func(p string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		m := map[string]any{}
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	hdr := decode(parts[0])
	if hdr["alg"] != "HS256" || hdr["typ"] != "at+jwt" || hdr["kid"] != kidOf(secret('a')) || len(hdr) != 3 {
		t.Errorf("header = %v", hdr)
	}
	if got := token.KeyID(secret('a')); got != kidOf(secret('a')) || len(got) != 16 {
		t.Errorf("KeyID = %q", got)
	}
	p := decode(parts[1])
	if p["sub"] != "42" {
		t.Errorf("sub = %#v, want the string \"42\"", p["sub"])
	}
	if p["company_id"] != json.Number("7") {
		t.Errorf("company_id = %#v, want the JSON number 7", p["company_id"])
	}
	if p["role"] != "user" || p["iss"] != testIssuer {
		t.Errorf("payload = %v", p)
	}
	if aud, ok := p["aud"].([]any); !ok || len(aud) != 1 || aud[0] != testAudience {
		t.Errorf("aud = %#v", p["aud"])
	}
	if p["iat"] != json.Number("1893553445") || p["exp"] != json.Number("1893557045") {
		t.Errorf("iat, exp = %v, %v", p["iat"], p["exp"])
	}
	jti, _ := p["jti"].(string)
	if len(jti) < 16 {
		t.Errorf("jti = %q, want a random id", jti)
	}
	if jti2, _ := decode(strings.Split(s2, ".")[1])["jti"].(string); jti2 == jti {
		t.Errorf("two tokens share jti %q", jti)
	}
}

func TestVerifyRejects(t *testing.T) {
	good := secret('a')
	other := secret('b')
	iss := newIssuer(t, newClock(t0))
	valid := issue(t, iss, sample)
	parts := strings.Split(valid, ".")

	// The header a proper token has, with alg set to name.
	hdr := func(alg string) map[string]any {
		return map[string]any{"alg": alg, "typ": token.Type, "kid": kidOf(good)}
	}
	payload := seg(t, validClaims())

	cases := map[string]string{
		"tampered payload": func() string {
			p := seg(t, with(validClaims(), "company_id", 8))
			return parts[0] + "." + p + "." + parts[2]
		}(),
		"tampered signature": func() string {
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			sig[0] ^= 1
			return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
		}(),
		"signature removed":    parts[0] + "." + parts[1] + ".",
		"alg none":             seg(t, map[string]any{"alg": "none", "typ": token.Type}) + "." + payload + ".",
		"alg none with kid":    seg(t, map[string]any{"alg": "none", "typ": token.Type, "kid": kidOf(good)}) + "." + payload + ".",
		"alg missing":          seg(t, map[string]any{"typ": token.Type, "kid": kidOf(good)}) + "." + payload + "." + hs256(good, seg(t, map[string]any{"typ": token.Type, "kid": kidOf(good)})+"."+payload),
		"HS512 signed":         sign(t, jwt.SigningMethodHS512, good, validHeader(good), validClaims()),
		"HS384 signed":         sign(t, jwt.SigningMethodHS384, good, validHeader(good), validClaims()),
		"RS256 labelled":       seg(t, hdr("RS256")) + "." + payload + "." + hs256(good, seg(t, hdr("RS256"))+"."+payload),
		"ES256 labelled":       seg(t, hdr("ES256")) + "." + payload + "." + hs256(good, seg(t, hdr("ES256"))+"."+payload),
		"expired":              sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "exp", t0.Add(-time.Minute).Unix())),
		"exp missing":          sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "exp", nil)),
		"exp not a number":     sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "exp", "soon")),
		"iat in the future":    sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "iat", t0.Add(5*time.Minute).Unix())),
		"iat missing":          sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "iat", nil)),
		"nbf in the future":    sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "nbf", t0.Add(5*time.Minute).Unix())),
		"wrong issuer":         sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "iss", "https://evil.test")),
		"issuer missing":       sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "iss", nil)),
		"wrong audience":       sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "aud", []string{"other-api"})),
		"audience missing":     sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "aud", nil)),
		"typ JWT":              sign(t, jwt.SigningMethodHS256, good, map[string]any{"typ": "JWT", "kid": kidOf(good)}, validClaims()),
		"typ missing":          sign(t, jwt.SigningMethodHS256, good, map[string]any{"typ": nil, "kid": kidOf(good)}, validClaims()),
		"typ not a string":     sign(t, jwt.SigningMethodHS256, good, map[string]any{"typ": 1, "kid": kidOf(good)}, validClaims()),
		"crit header":          sign(t, jwt.SigningMethodHS256, good, map[string]any{"typ": token.Type, "kid": kidOf(good), "crit": []string{"exp"}}, validClaims()),
		"unknown kid":          sign(t, jwt.SigningMethodHS256, other, validHeader(other), validClaims()),
		"kid missing":          sign(t, jwt.SigningMethodHS256, good, map[string]any{"typ": token.Type}, validClaims()),
		"kid not a string":     sign(t, jwt.SigningMethodHS256, good, map[string]any{"typ": token.Type, "kid": 1}, validClaims()),
		"known kid, wrong key": sign(t, jwt.SigningMethodHS256, other, validHeader(good), validClaims()),
		"company_id zero":      sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "company_id", 0)),
		"company_id negative":  sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "company_id", -7)),
		"company_id string":    sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "company_id", "7")),
		"company_id word":      sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "company_id", "abc")),
		"company_id fraction":  sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "company_id", 7.5)),
		"company_id overflow":  sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "company_id", json.Number("9223372036854775808"))),
		"company_id missing":   sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "company_id", nil)),
		"sub zero":             sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "sub", "0")),
		"sub negative":         sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "sub", "-42")),
		"sub word":             sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "sub", "abc")),
		"sub leading zero":     sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "sub", "042")),
		"sub plus sign":        sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "sub", "+42")),
		"sub overflow":         sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "sub", "9223372036854775808")),
		"sub number":           sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "sub", 42)),
		"sub missing":          sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "sub", nil)),
		"role unknown":         sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "role", "root")),
		"role wrong case":      sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "role", "Admin")),
		"role missing":         sign(t, jwt.SigningMethodHS256, good, validHeader(good), with(validClaims(), "role", nil)),
		"empty":                "",
		"garbage":              "not a token",
		"dots only":            "..",
		"two parts":            parts[0] + "." + parts[1],
		"four parts":           valid + "." + parts[2],
		"trailing space":       valid + " ",
		"padded signature":     valid + "=",
		"header not JSON":      base64.RawURLEncoding.EncodeToString([]byte("{")) + "." + parts[1] + "." + parts[2],
		"header not base64":    "!!!." + parts[1] + "." + parts[2],
		"oversized":            valid + strings.Repeat("A", 9000),
	}
	// Guard the fixtures: the base claims and header are accepted.
	if _, err := iss.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, good, validHeader(good), validClaims())); err != nil {
		t.Fatalf("fixture token rejected: %v", err)
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := iss.Verify(context.Background(), s)
			t.Log(err)
			assertUnauthenticated(t, err)
			if got != (ports.Claims{}) {
				t.Errorf("claims returned with an error: %+v", got)
			}
		})
	}
}

func assertUnauthenticated(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("Verify accepted the token")
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %T %v, want *domain.Error", err, err)
	}
	if de.Code != domain.CodeUnauthenticated || de.Message != "invalid or expired token" || de.Field != "" {
		t.Errorf("error = %+v, want unauthenticated with the generic message", de)
	}
	if de.Err == nil {
		t.Error("error carries no cause")
	}
}

func TestVerifyExpiryLeeway(t *testing.T) {
	clock := newClock(t0)
	iss := newIssuer(t, clock)
	s := issue(t, iss, sample)

	clock.Set(t0.Add(time.Hour + token.Leeway - time.Second))
	if _, err := iss.Verify(context.Background(), s); err != nil {
		t.Fatalf("inside the leeway: %v", err)
	}
	clock.Set(t0.Add(time.Hour + token.Leeway + time.Second))
	_, err := iss.Verify(context.Background(), s)
	assertUnauthenticated(t, err)
	if !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("cause = %v, want ErrTokenExpired", err)
	}
}

func TestVerifyIssuedAtLeeway(t *testing.T) {
	clock := newClock(t0)
	iss := newIssuer(t, clock)
	s := issue(t, iss, sample)

	clock.Set(t0.Add(-token.Leeway + time.Second))
	if _, err := iss.Verify(context.Background(), s); err != nil {
		t.Fatalf("iat inside the leeway: %v", err)
	}
	clock.Set(t0.Add(-token.Leeway - time.Second))
	_, err := iss.Verify(context.Background(), s)
	assertUnauthenticated(t, err)
	if !errors.Is(err, jwt.ErrTokenUsedBeforeIssued) {
		t.Errorf("cause = %v, want ErrTokenUsedBeforeIssued", err)
	}
}

func TestKeyRotation(t *testing.T) {
	clock := newClock(t0)
	old := newIssuer(t, clock, func(c *token.Config) { c.Secret = secret('o') })
	rotated := newIssuer(t, clock, func(c *token.Config) {
		c.Secret = secret('n')
		c.PreviousSecrets = [][]byte{secret('x'), secret('o'), secret('n')}
	})
	dropped := newIssuer(t, clock, func(c *token.Config) { c.Secret = secret('n') })

	before := issue(t, old, sample)
	got, err := rotated.Verify(context.Background(), before)
	if err != nil {
		t.Fatalf("token signed with a previous secret rejected: %v", err)
	}
	if got.UserID != sample.UserID || got.CompanyID != sample.CompanyID {
		t.Errorf("claims = %+v", got)
	}

	after := issue(t, rotated, sample)
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(after, ".")[0])
	if !strings.Contains(string(hdr), `"kid":"`+kidOf(secret('n'))+`"`) {
		t.Errorf("rotated issuer signs with header %s, want the current secret's kid", hdr)
	}
	if _, err := rotated.Verify(context.Background(), after); err != nil {
		t.Errorf("current token rejected: %v", err)
	}
	if _, err := old.Verify(context.Background(), after); err == nil {
		t.Error("an issuer that does not know the new secret accepted its token")
	}
	_, err = dropped.Verify(context.Background(), before)
	assertUnauthenticated(t, err)
}

func TestConfigIsCopied(t *testing.T) {
	s := secret('a')
	prev := secret('p')
	iss, err := token.New(token.Config{Secret: s, PreviousSecrets: [][]byte{prev}, Issuer: testIssuer, Audience: testAudience, Clock: newClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	fromPrev := issue(t, newIssuer(t, newClock(t0), func(c *token.Config) { c.Secret = secret('p') }), sample)
	s[0] ^= 0xff
	prev[0] ^= 0xff
	if _, err := iss.Verify(context.Background(), issue(t, iss, sample)); err != nil {
		t.Errorf("mutating the caller's secret changed the issuer: %v", err)
	}
	if _, err := iss.Verify(context.Background(), fromPrev); err != nil {
		t.Errorf("mutating the caller's previous secret changed the issuer: %v", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	base := func() token.Config {
		return token.Config{Secret: secret('a'), Issuer: testIssuer, Audience: testAudience}
	}
	bad := map[string]func(*token.Config){
		"secret missing":     func(c *token.Config) { c.Secret = nil },
		"secret too short":   func(c *token.Config) { c.Secret = secret('a')[:31] },
		"previous too short": func(c *token.Config) { c.PreviousSecrets = [][]byte{secret('b')[:16]} },
		"previous empty":     func(c *token.Config) { c.PreviousSecrets = [][]byte{nil} },
		"issuer missing":     func(c *token.Config) { c.Issuer = "" },
		"audience missing":   func(c *token.Config) { c.Audience = "" },
		"negative TTL":       func(c *token.Config) { c.TTL = -time.Second },
	}
	for name, mod := range bad {
		t.Run(name, func(t *testing.T) {
			cfg := base()
			mod(&cfg)
			if iss, err := token.New(cfg); err == nil || iss != nil {
				t.Fatalf("New = %v, %v; want an error", iss, err)
			}
		})
	}

	iss, err := token.New(base()) // nil clock, zero TTL
	if err != nil {
		t.Fatal(err)
	}
	s, expiresIn, err := iss.Issue(context.Background(), sample)
	if err != nil {
		t.Fatal(err)
	}
	if expiresIn != token.DefaultTTL || token.DefaultTTL != time.Hour {
		t.Errorf("expiresIn = %v, want the 1h default", expiresIn)
	}
	got, err := iss.Verify(context.Background(), s)
	if err != nil {
		t.Fatalf("system clock: %v", err)
	}
	if d := got.ExpiresAt.Sub(got.IssuedAt); d != time.Hour {
		t.Errorf("exp - iat = %v, want 1h", d)
	}
}

func TestIssueRejectsInvalidClaims(t *testing.T) {
	iss := newIssuer(t, newClock(t0))
	bad := map[string]ports.Claims{
		"user zero":       {UserID: 0, CompanyID: 7, Role: domain.RoleUser},
		"user negative":   {UserID: -1, CompanyID: 7, Role: domain.RoleUser},
		"company zero":    {UserID: 1, CompanyID: 0, Role: domain.RoleUser},
		"company invalid": {UserID: 1, CompanyID: tenancy.CompanyID(-7), Role: domain.RoleUser},
		"role unknown":    {UserID: 1, CompanyID: 7, Role: "root"},
		"role empty":      {UserID: 1, CompanyID: 7},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			if s, _, err := iss.Issue(context.Background(), c); err == nil || s != "" {
				t.Fatalf("Issue = %q, %v; want an error", s, err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := iss.Issue(ctx, sample); !errors.Is(err, context.Canceled) {
		t.Errorf("Issue with a cancelled context = %v", err)
	}
}
