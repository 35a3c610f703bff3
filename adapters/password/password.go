// Package password is the password-hashing adapter of Schemata: Hasher
// implements ports.PasswordHasher with argon2id (github.com/alexedwards/argon2id)
// and PHC strings. It sits on the outer ring of the hexagon and depends inward
// on ports only.
//
// Passwords are hashed exactly as given (no trimming, no truncation).
// Verification uses the parameters stored in the hash, so hashes made with
// older parameters keep verifying. Hashing and verification share a semaphore
// that bounds how many run at once, because each holds Memory KiB for its
// whole duration.
package password

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/alexedwards/argon2id"

	"github.com/schemata/schemata/ports"
)

// The default parameters, which are also the weakest New accepts: the OWASP
// minimum for argon2id (19 MiB, two passes, one lane), a 128-bit salt and a
// 256-bit key.
const (
	MinMemory      uint32 = 19 * 1024 // KiB
	MinIterations  uint32 = 2
	MinParallelism uint8  = 1
	MinSaltLength  uint32 = 16 // bytes
	MinKeyLength   uint32 = 32 // bytes
)

// Upper bounds on the cost of a hash, in the configuration and in a stored PHC
// string: a corrupt or hostile hash must not make one verification allocate
// gigabytes or spin for minutes.
const (
	MaxMemory      uint32 = 1024 * 1024 // KiB (1 GiB)
	MaxIterations  uint32 = 64
	MaxParallelism uint8  = 64
	maxSaltLength         = 1024 // bytes
	maxKeyLength          = 1024 // bytes
)

// Floors below which a stored hash is refused as malformed. They are lower
// than the Min* values so that hashes made with weaker, older parameters
// still verify (the application can rehash them), but high enough that a
// truncated or empty key cannot match every password.
const (
	minStoredSaltLength = 8
	minStoredKeyLength  = 16
)

// phcVersion is the argon2 version (0x13) written in every PHC string.
const phcVersion = 19

// ErrMalformedHash is wrapped by the error Verify returns for a stored hash
// that is not a well-formed argon2id PHC string within the cost bounds.
var ErrMalformedHash = errors.New("password: malformed argon2id hash")

// Config configures a Hasher; a zero field takes its default. The command
// supplies it to the fx graph.
type Config struct {
	// Memory is the memory cost in KiB; default and minimum MinMemory.
	Memory uint32
	// Iterations is the number of passes; default and minimum MinIterations.
	Iterations uint32
	// Parallelism is the number of lanes; default and minimum MinParallelism.
	Parallelism uint8
	// SaltLength is the salt size in bytes; default and minimum MinSaltLength.
	SaltLength uint32
	// KeyLength is the derived key size in bytes; default and minimum
	// MinKeyLength.
	KeyLength uint32
	// MaxConcurrent bounds the hashes and verifications running at once;
	// default runtime.NumCPU(). Callers beyond it wait for a slot or for
	// their context to end.
	MaxConcurrent int
}

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	params argon2id.Params
	sem    chan struct{}
	dummy  string

	// inside, when set by a test, is called with +1 when an operation enters
	// the semaphore and with -1 when it leaves.
	inside func(delta int)
}

var _ ports.PasswordHasher = (*Hasher)(nil)

// New validates cfg, fills in defaults and returns a Hasher. It computes the
// dummy hash (see DummyPHC), which costs one hash.
func New(cfg Config) (*Hasher, error) {
	p := argon2id.Params{
		Memory:      orDefault(cfg.Memory, MinMemory),
		Iterations:  orDefault(cfg.Iterations, MinIterations),
		Parallelism: orDefault(cfg.Parallelism, MinParallelism),
		SaltLength:  orDefault(cfg.SaltLength, MinSaltLength),
		KeyLength:   orDefault(cfg.KeyLength, MinKeyLength),
	}
	switch {
	case p.Memory < MinMemory || p.Memory > MaxMemory:
		return nil, fmt.Errorf("password: memory must be between %d and %d KiB, got %d", MinMemory, MaxMemory, p.Memory)
	case p.Iterations < MinIterations || p.Iterations > MaxIterations:
		return nil, fmt.Errorf("password: iterations must be between %d and %d, got %d", MinIterations, MaxIterations, p.Iterations)
	case p.Parallelism > MaxParallelism:
		return nil, fmt.Errorf("password: parallelism must be between %d and %d, got %d", MinParallelism, MaxParallelism, p.Parallelism)
	case p.SaltLength < MinSaltLength || p.SaltLength > maxSaltLength:
		return nil, fmt.Errorf("password: salt length must be between %d and %d bytes, got %d", MinSaltLength, maxSaltLength, p.SaltLength)
	case p.KeyLength < MinKeyLength || p.KeyLength > maxKeyLength:
		return nil, fmt.Errorf("password: key length must be between %d and %d bytes, got %d", MinKeyLength, maxKeyLength, p.KeyLength)
	case cfg.MaxConcurrent < 0:
		return nil, fmt.Errorf("password: max concurrent must not be negative, got %d", cfg.MaxConcurrent)
	}
	n := cfg.MaxConcurrent
	if n == 0 {
		n = runtime.NumCPU()
	}
	h := &Hasher{params: p, sem: make(chan struct{}, n)}

	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, fmt.Errorf("password: dummy password: %w", err)
	}
	dummy, err := argon2id.CreateHash(base64.RawStdEncoding.EncodeToString(secret[:]), &h.params)
	if err != nil {
		return nil, fmt.Errorf("password: dummy hash: %w", err)
	}
	h.dummy = dummy
	return h, nil
}

func orDefault[T uint8 | uint32](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// DummyPHC returns a hash, made with the Hasher's parameters, of a random
// password nobody knows. Verifying a password against it costs the same as
// verifying against a real user's hash and always fails, so that a login with
// an unknown email takes as long as one with a wrong password.
func (h *Hasher) DummyPHC() string { return h.dummy }

// Hash returns the argon2id PHC string of password, e.g.
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>. It waits for a free slot and
// returns ctx.Err() if ctx ends first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	var phc string
	err := h.run(ctx, func() (err error) {
		phc, err = argon2id.CreateHash(password, &h.params)
		return err
	})
	if err != nil {
		return "", err
	}
	return phc, nil
}

// Verify reports whether password matches phc, using the parameters stored in
// phc. A phc that is not a well-formed argon2id hash within the cost bounds is
// an error wrapping ErrMalformedHash. It waits for a free slot and returns
// ctx.Err() if ctx ends first.
func (h *Hasher) Verify(ctx context.Context, password, phc string) (bool, error) {
	if err := checkPHC(phc); err != nil {
		return false, err
	}
	var ok bool
	err := h.run(ctx, func() (err error) {
		ok, err = argon2id.ComparePasswordAndHash(password, phc)
		return err
	})
	if err != nil {
		return false, err
	}
	return ok, nil
}

// run runs fn holding a slot of the semaphore.
func (h *Hasher) run(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.sem }()
	if h.inside != nil {
		h.inside(+1)
		defer h.inside(-1)
	}
	return fn()
}

// checkPHC validates phc strictly: the argon2id library's decoder tolerates
// trailing text after the parameters and accepts costs that make argon2 panic
// (t=0, p=0) or keys so short that they match anything.
func checkPHC(phc string) error {
	p, salt, key, err := argon2id.DecodeHash(phc)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	canonical := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", phcVersion, p.Memory, p.Iterations, p.Parallelism)
	switch {
	case !strings.HasPrefix(phc, canonical):
		return fmt.Errorf("%w: parameters are not in canonical form", ErrMalformedHash)
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > MaxMemory:
		return fmt.Errorf("%w: memory %d KiB out of range", ErrMalformedHash, p.Memory)
	case p.Iterations < 1 || p.Iterations > MaxIterations:
		return fmt.Errorf("%w: iterations %d out of range", ErrMalformedHash, p.Iterations)
	case p.Parallelism < 1 || p.Parallelism > MaxParallelism:
		return fmt.Errorf("%w: parallelism %d out of range", ErrMalformedHash, p.Parallelism)
	case len(salt) < minStoredSaltLength || len(salt) > maxSaltLength:
		return fmt.Errorf("%w: salt of %d bytes", ErrMalformedHash, len(salt))
	case len(key) < minStoredKeyLength || len(key) > maxKeyLength:
		return fmt.Errorf("%w: key of %d bytes", ErrMalformedHash, len(key))
	}
	return nil
}
