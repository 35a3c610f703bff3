// Package ratelimit is the login-throttling adapter of Schemata: Limiter
// implements ports.LoginLimiter with one token bucket (golang.org/x/time/rate)
// per account key, held in memory. It sits on the outer ring of the hexagon
// and depends inward on ports only.
//
// Each key starts with Burst tokens; every failed login takes one and one
// comes back every Every. A login may proceed while at least one token is
// left, and a successful login forgets the key. The state is per process: run
// several replicas and each limits on its own.
package ratelimit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/schemata/schemata/ports"
)

// Defaults for the zero fields of Config.
const (
	DefaultBurst   = 5
	DefaultEvery   = time.Minute
	DefaultMaxKeys = 100_000
)

// Config configures a Limiter; a zero field takes its default. The command
// supplies it to the fx graph.
type Config struct {
	// Burst is how many failures in a row a key may have before it is
	// blocked; default DefaultBurst.
	Burst int
	// Every is how long one failure takes to be forgiven; default
	// DefaultEvery.
	Every time.Duration
	// MaxKeys bounds the keys tracked; default DefaultMaxKeys. Past it, keys
	// whose bucket has refilled are dropped first, then those with the most
	// tokens left (see Limiter).
	MaxKeys int
	// Clock tells the time; nil means the system clock.
	Clock ports.Clock
}

// Limiter throttles failed logins per key. It is safe for concurrent use.
//
// Memory is bounded by MaxKeys. When a new key would exceed it, one sweep
// drops every key whose bucket is full again (it holds nothing a fresh key
// would not) and, if that is not enough, the keys with the most tokens left
// until a tenth of MaxKeys is free. Under a flood of distinct keys the
// blocked keys are thus the last to be forgotten, at the cost of an
// O(n log n) sweep once per MaxKeys/10 new keys.
type Limiter struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	clock   ports.Clock

	mu   sync.Mutex
	keys map[string]*rate.Limiter
}

var _ ports.LoginLimiter = (*Limiter)(nil)

// New validates cfg, fills in defaults and returns a Limiter.
func New(cfg Config) (*Limiter, error) {
	switch {
	case cfg.Burst < 0:
		return nil, fmt.Errorf("ratelimit: burst must not be negative, got %d", cfg.Burst)
	case cfg.Every < 0:
		return nil, fmt.Errorf("ratelimit: interval must not be negative, got %v", cfg.Every)
	case cfg.MaxKeys < 0:
		return nil, fmt.Errorf("ratelimit: max keys must not be negative, got %d", cfg.MaxKeys)
	}
	l := &Limiter{
		limit:   rate.Every(orDefault(cfg.Every, DefaultEvery)),
		burst:   orDefault(cfg.Burst, DefaultBurst),
		maxKeys: orDefault(cfg.MaxKeys, DefaultMaxKeys),
		clock:   cfg.Clock,
		keys:    make(map[string]*rate.Limiter),
	}
	if l.clock == nil {
		l.clock = systemClock{}
	}
	return l, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Allow reports whether a login for key may proceed now: whether its bucket
// holds at least one token. It consumes nothing.
func (l *Limiter) Allow(_ context.Context, key string) bool {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.keys[key]
	return !ok || b.TokensAt(now) >= 1
}

// RetryAfter is how long key must wait until Allow reports true again (0 when
// it is allowed now).
func (l *Limiter) RetryAfter(_ context.Context, key string) time.Duration {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.keys[key]
	if !ok {
		return 0
	}
	missing := 1 - b.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / float64(l.limit) * float64(time.Second))
}

// Failed takes one token from key's bucket (none when it is already empty).
func (l *Limiter) Failed(_ context.Context, key string) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.maxKeys {
			l.evict(now)
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.keys[key] = b
	}
	b.AllowN(now, 1)
}

// Succeeded forgets key: its next failure starts from a full bucket.
func (l *Limiter) Succeeded(_ context.Context, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// evict frees room for new keys; l.mu is held.
func (l *Limiter) evict(now time.Time) {
	full := float64(l.burst)
	for k, b := range l.keys {
		if b.TokensAt(now) >= full {
			delete(l.keys, k)
		}
	}
	target := min(l.maxKeys-l.maxKeys/10, l.maxKeys-1)
	if len(l.keys) <= target {
		return
	}
	type entry struct {
		key    string
		tokens float64
	}
	entries := make([]entry, 0, len(l.keys))
	for k, b := range l.keys {
		entries = append(entries, entry{k, b.TokensAt(now)})
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(b.tokens, a.tokens) })
	for _, e := range entries[:len(entries)-target] {
		delete(l.keys, e.key)
	}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
