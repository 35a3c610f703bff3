package password_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/alexedwards/argon2id"

	"github.com/schemata/schemata/adapters/password"
)

const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"

// newHasher returns a Hasher with cfg; every test keeps the production
// parameters (New costs one hash, for the dummy).
func newHasher(t *testing.T, cfg password.Config) *password.Hasher {
	t.Helper()
	h, err := password.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, password.Config{})
	for _, pw := range []string{"correct horse battery staple", "  spaces kept  ", "pässwörd🔑", ""} {
		phc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatalf("Hash(%q): %v", pw, err)
		}
		if !strings.HasPrefix(phc, prefix) {
			t.Errorf("Hash(%q) = %q, want prefix %q", pw, phc, prefix)
		}
		ok, err := h.Verify(ctx, pw, phc)
		if err != nil || !ok {
			t.Errorf("Verify(%q, own hash) = %v, %v; want true", pw, ok, err)
		}
		ok, err = h.Verify(ctx, pw+"x", phc)
		if err != nil || ok {
			t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
		}
	}
}

func TestHashIsSalted(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, password.Config{})
	a, err := h.Hash(ctx, "same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(ctx, "same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of one password are equal: %q", a)
	}
	_, salt, key, err := argon2id.DecodeHash(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(salt) != 16 || len(key) != 32 {
		t.Errorf("salt %d bytes, key %d bytes; want 16 and 32", len(salt), len(key))
	}
}

func TestWrongPassword(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, password.Config{})
	phc, err := h.Hash(ctx, "Tr0ub4dor&3")
	if err != nil {
		t.Fatal(err)
	}
	for _, wrong := range []string{"tr0ub4dor&3", "Tr0ub4dor&", "Tr0ub4dor&3 ", " Tr0ub4dor&3", ""} {
		ok, err := h.Verify(ctx, wrong, phc)
		if err != nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want false, nil", wrong, ok, err)
		}
	}
}

func TestNoTruncation(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, password.Config{})
	a := []byte(strings.Repeat("p", 100))
	b := []byte(strings.Repeat("p", 100))
	b[90] = 'q'
	phc, err := h.Hash(ctx, string(a))
	if err != nil {
		t.Fatal(err)
	}
	ok, err := h.Verify(ctx, string(b), phc)
	if err != nil || ok {
		t.Fatalf("a password differing only in byte 90 verified: %v, %v", ok, err)
	}
	ok, err = h.Verify(ctx, string(a), phc)
	if err != nil || !ok {
		t.Fatalf("the password itself did not verify: %v, %v", ok, err)
	}
}

func TestVerifyUsesStoredParameters(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, password.Config{})
	// Made elsewhere with other (legacy and stronger) parameters.
	for _, p := range []*argon2id.Params{
		{Memory: 8 * 1024, Iterations: 3, Parallelism: 2, SaltLength: 16, KeyLength: 16},
		{Memory: 24 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 32, KeyLength: 64},
	} {
		phc, err := argon2id.CreateHash("legacy password", p)
		if err != nil {
			t.Fatal(err)
		}
		ok, err := h.Verify(ctx, "legacy password", phc)
		if err != nil || !ok {
			t.Errorf("Verify(%s) = %v, %v; want true", phc, ok, err)
		}
		ok, err = h.Verify(ctx, "other password", phc)
		if err != nil || ok {
			t.Errorf("Verify(wrong, %s) = %v, %v; want false", phc, ok, err)
		}
	}
}

func TestMalformedHash(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, password.Config{})
	good, err := h.Hash(ctx, "password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=…, salt, key
	salt, key := parts[4], parts[5]
	join := func(variant, version, params, salt, key string) string {
		return strings.Join([]string{"", variant, version, params, salt, key}, "$")
	}
	bad := map[string]string{
		"empty":                "",
		"garbage":              "not a hash",
		"bcrypt":               "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":              join("argon2i", "v=19", "m=19456,t=2,p=1", salt, key),
		"version 16":           join("argon2id", "v=16", "m=19456,t=2,p=1", salt, key),
		"version trailing":     join("argon2id", "v=19x", "m=19456,t=2,p=1", salt, key),
		"params trailing":      join("argon2id", "v=19", "m=19456,t=2,p=1,k=3", salt, key),
		"params reordered":     join("argon2id", "v=19", "t=2,m=19456,p=1", salt, key),
		"params leading zero":  join("argon2id", "v=19", "m=019456,t=2,p=1", salt, key),
		"params missing":       join("argon2id", "v=19", "", salt, key),
		"prefix junk":          "x" + good,
		"suffix segment":       good + "$x",
		"missing key":          strings.Join(parts[:5], "$"),
		"t=0 (argon2 panics)":  join("argon2id", "v=19", "m=19456,t=0,p=1", salt, key),
		"p=0 (argon2 panics)":  join("argon2id", "v=19", "m=19456,t=2,p=0", salt, key),
		"p overflow":           join("argon2id", "v=19", "m=19456,t=2,p=256", salt, key),
		"memory too large":     join("argon2id", "v=19", "m=4194304,t=2,p=1", salt, key),
		"memory too small":     join("argon2id", "v=19", "m=4,t=2,p=1", salt, key),
		"iterations too large": join("argon2id", "v=19", "m=19456,t=1000000,p=1", salt, key),
		"empty key":            join("argon2id", "v=19", "m=19456,t=2,p=1", salt, ""),
		"short key":            join("argon2id", "v=19", "m=19456,t=2,p=1", salt, key[:12]), // 9 bytes
		"empty salt":           join("argon2id", "v=19", "m=19456,t=2,p=1", "", key),
		"salt not base64":      join("argon2id", "v=19", "m=19456,t=2,p=1", "!!!!", key),
		"key padded":           join("argon2id", "v=19", "m=19456,t=2,p=1", salt, key+"="),
	}
	for name, phc := range bad {
		t.Run(name, func(t *testing.T) {
			ok, err := h.Verify(ctx, "password", phc)
			t.Log(err)
			if ok || !errors.Is(err, password.ErrMalformedHash) {
				t.Fatalf("Verify = %v, %v; want false and ErrMalformedHash", ok, err)
			}
		})
	}
	if ok, err := h.Verify(ctx, "password", good); err != nil || !ok {
		t.Fatalf("fixture hash did not verify: %v, %v", ok, err)
	}
}

func TestDummyPHC(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, password.Config{})
	d := h.DummyPHC()
	if !strings.HasPrefix(d, prefix) {
		t.Fatalf("DummyPHC = %q, want prefix %q", d, prefix)
	}
	if d != h.DummyPHC() {
		t.Error("DummyPHC changes between calls")
	}
	for _, pw := range []string{"", "password", d} {
		ok, err := h.Verify(ctx, pw, d)
		if err != nil || ok {
			t.Errorf("Verify(%q, dummy) = %v, %v; want false, nil", pw, ok, err)
		}
	}
	if other := newHasher(t, password.Config{}); other.DummyPHC() == d {
		t.Error("two hashers share a dummy hash")
	}
}

func TestConfigParamsAreUsed(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, password.Config{Memory: 20 * 1024, Iterations: 3, Parallelism: 2, SaltLength: 24, KeyLength: 48, MaxConcurrent: 1})
	phc, err := h.Hash(ctx, "password")
	if err != nil {
		t.Fatal(err)
	}
	p, salt, key, err := argon2id.DecodeHash(phc)
	if err != nil {
		t.Fatal(err)
	}
	if p.Memory != 20*1024 || p.Iterations != 3 || p.Parallelism != 2 || len(salt) != 24 || len(key) != 48 {
		t.Errorf("hash %q does not carry the configured parameters", phc)
	}
	if !strings.HasPrefix(h.DummyPHC(), "$argon2id$v=19$m=20480,t=3,p=2$") {
		t.Errorf("DummyPHC %q does not use the configured parameters", h.DummyPHC())
	}
}

func TestNewRefusesWeakOrAbsurdParameters(t *testing.T) {
	bad := map[string]password.Config{
		"memory below 19 MiB":  {Memory: 19*1024 - 1},
		"memory above 1 GiB":   {Memory: password.MaxMemory + 1},
		"one iteration":        {Iterations: 1},
		"too many iterations":  {Iterations: password.MaxIterations + 1},
		"too many lanes":       {Parallelism: password.MaxParallelism + 1},
		"short salt":           {SaltLength: 8},
		"short key":            {KeyLength: 16},
		"huge key":             {KeyLength: 1 << 20},
		"negative concurrency": {MaxConcurrent: -1},
	}
	for name, cfg := range bad {
		t.Run(name, func(t *testing.T) {
			if h, err := password.New(cfg); err == nil || h != nil {
				t.Fatalf("New(%+v) = %v, %v; want an error", cfg, h, err)
			}
		})
	}
}
