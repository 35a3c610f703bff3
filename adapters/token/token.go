// Package token is the access-token adapter of Schemata: Issuer implements
// ports.TokenIssuer with HS256-signed JWTs (RFC 9068 "at+jwt" type) built on
// golang-jwt/v5. It sits on the outer ring of the hexagon and depends inward on
// domain, ports and tenancy; nothing inside the hexagon imports it.
//
// Every token carries a key id (kid) derived from its signing secret, so the
// secret can be rotated: the new secret signs, the previous ones still verify
// until the tokens they signed have expired.
package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

const (
	// Type is the JOSE "typ" header of every access token (RFC 9068). Verify
	// rejects any other value, so an ID token or another JWT signed with the
	// same secret cannot pass for an access token.
	Type = "at+jwt"
	// DefaultTTL is the lifetime of a token when Config.TTL is zero.
	DefaultTTL = time.Hour
	// MinSecretLen is the minimum length of every secret, in bytes (RFC 7518
	// §3.2 requires a key at least as long as the HS256 output).
	MinSecretLen = 32
	// Leeway is the clock skew tolerated on exp and iat.
	Leeway = 30 * time.Second

	// maxTokenLen bounds the work spent on a presented string: real tokens
	// are a few hundred bytes.
	maxTokenLen = 8 << 10
	// invalidMessage is the only message clients ever see: it does not tell
	// which check failed.
	invalidMessage = "invalid or expired token"
)

// Config configures an Issuer. The command supplies it to the fx graph.
type Config struct {
	// Secret signs new tokens and verifies them; at least MinSecretLen bytes.
	Secret []byte
	// PreviousSecrets verify tokens signed before a key rotation; they never
	// sign. Each must be at least MinSecretLen bytes.
	PreviousSecrets [][]byte
	// Issuer is the "iss" claim written and required; not empty.
	Issuer string
	// Audience is the "aud" claim written and required; not empty.
	Audience string
	// TTL is the lifetime of a token; zero means DefaultTTL.
	TTL time.Duration
	// Clock tells the time for issuing and verifying; nil means the system
	// clock.
	Clock ports.Clock
}

// Issuer issues and verifies access tokens. It is safe for concurrent use.
type Issuer struct {
	signKey []byte
	kid     string
	keys    map[string][]byte // kid → secret, current and previous
	iss     string
	aud     string
	ttl     time.Duration
	clock   ports.Clock
	parser  *jwt.Parser
}

var _ ports.TokenIssuer = (*Issuer)(nil)

// New validates cfg and returns an Issuer.
func New(cfg Config) (*Issuer, error) {
	if len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("token: secret must be at least %d bytes, got %d", MinSecretLen, len(cfg.Secret))
	}
	if cfg.Issuer == "" {
		return nil, errors.New("token: issuer is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("token: audience is required")
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("token: TTL must not be negative, got %v", cfg.TTL)
	}
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	clock := cfg.Clock
	if clock == nil {
		clock = systemClock{}
	}

	signKey := append([]byte(nil), cfg.Secret...)
	i := &Issuer{
		signKey: signKey,
		kid:     KeyID(signKey),
		keys:    map[string][]byte{KeyID(signKey): signKey},
		iss:     cfg.Issuer,
		aud:     cfg.Audience,
		ttl:     ttl,
		clock:   clock,
	}
	for n, s := range cfg.PreviousSecrets {
		if len(s) < MinSecretLen {
			return nil, fmt.Errorf("token: previous secret %d must be at least %d bytes, got %d", n, MinSecretLen, len(s))
		}
		kid := KeyID(s)
		if have, ok := i.keys[kid]; ok {
			if string(have) != string(s) {
				return nil, fmt.Errorf("token: previous secret %d has the same key id as another secret", n)
			}
			continue
		}
		i.keys[kid] = append([]byte(nil), s...)
	}
	i.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(i.iss),
		jwt.WithAudience(i.aud),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(clock.Now),
		jwt.WithStrictDecoding(),
	)
	return i, nil
}

// KeyID returns the "kid" header of tokens signed with secret: the hex
// encoding of the first 8 bytes of its SHA-256. It identifies the secret
// without revealing it.
func KeyID(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:8])
}

// claims is the JWT payload of an access token.
type claims struct {
	CompanyID int64  `json:"company_id"`
	Role      string `json:"role"`
	jwt.RegisteredClaims
}

// Issue signs an access token for c.UserID in c.CompanyID with c.Role. The
// issuer sets the times itself (c.IssuedAt and c.ExpiresAt are ignored) and
// returns the token's lifetime.
func (i *Issuer) Issue(ctx context.Context, c ports.Claims) (string, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	if c.UserID <= 0 {
		return "", 0, fmt.Errorf("token: user id must be positive, got %d", c.UserID)
	}
	if !c.CompanyID.Valid() {
		return "", 0, fmt.Errorf("token: company id must be positive, got %d", c.CompanyID)
	}
	if _, err := domain.ParseRole(string(c.Role)); err != nil {
		return "", 0, fmt.Errorf("token: %w", err)
	}
	jti, err := newID()
	if err != nil {
		return "", 0, fmt.Errorf("token: token id: %w", err)
	}
	now := i.clock.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		CompanyID: int64(c.CompanyID),
		Role:      string(c.Role),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.iss,
			Subject:   strconv.FormatInt(c.UserID, 10),
			Audience:  jwt.ClaimStrings{i.aud},
			ExpiresAt: jwt.NewNumericDate(now.Add(i.ttl)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti,
		},
	})
	t.Header["typ"] = Type
	t.Header["kid"] = i.kid
	s, err := t.SignedString(i.signKey)
	if err != nil {
		return "", 0, fmt.Errorf("token: sign: %w", err)
	}
	return s, i.ttl, nil
}

// Verify checks the token's algorithm (HS256 only), type, key id, signature,
// issuer, audience, expiry and issue time, then its claims. Any failure is a
// domain error with CodeUnauthenticated and a message that does not say which
// check failed; the cause is in its Err.
func (i *Issuer) Verify(_ context.Context, raw string) (ports.Claims, error) {
	if len(raw) > maxTokenLen {
		return ports.Claims{}, unauthenticated(fmt.Errorf("token longer than %d bytes", maxTokenLen))
	}
	var c claims
	if _, err := i.parser.ParseWithClaims(raw, &c, i.key); err != nil {
		return ports.Claims{}, unauthenticated(err)
	}
	if c.IssuedAt == nil {
		return ports.Claims{}, unauthenticated(errors.New("token has no iat claim"))
	}
	userID, err := parseSubject(c.Subject)
	if err != nil {
		return ports.Claims{}, unauthenticated(err)
	}
	company := tenancy.CompanyID(c.CompanyID)
	if !company.Valid() {
		return ports.Claims{}, unauthenticated(fmt.Errorf("company_id %d is not positive", c.CompanyID))
	}
	role, err := domain.ParseRole(c.Role)
	if err != nil {
		return ports.Claims{}, unauthenticated(err)
	}
	return ports.Claims{
		UserID:    userID,
		CompanyID: company,
		Role:      role,
		IssuedAt:  c.IssuedAt.Time,
		ExpiresAt: c.ExpiresAt.Time,
	}, nil
}

// key is the jwt.Keyfunc: it checks the header and picks the secret named by
// its kid. The parser has already refused every algorithm but HS256.
func (i *Issuer) key(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
	}
	if typ, _ := t.Header["typ"].(string); typ != Type {
		return nil, fmt.Errorf("token type %v, want %q", t.Header["typ"], Type)
	}
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 §4.1.11: no critical extension is understood here.
		return nil, errors.New("token has critical header parameters")
	}
	kid, _ := t.Header["kid"].(string)
	secret, ok := i.keys[kid]
	if !ok {
		return nil, fmt.Errorf("unknown key id %v", t.Header["kid"])
	}
	return secret, nil
}

// parseSubject accepts only a canonical positive decimal user id.
func parseSubject(sub string) (int64, error) {
	id, err := strconv.ParseInt(sub, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != sub {
		return 0, fmt.Errorf("subject %q is not a positive user id", sub)
	}
	return id, nil
}

func unauthenticated(cause error) *domain.Error {
	return &domain.Error{Code: domain.CodeUnauthenticated, Message: invalidMessage, Err: cause}
}

// newID returns a random token id (jti) of 128 bits.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
