package app

import (
	"context"
	"sync"
	"time"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// DefaultPrincipalTTL bounds how long a cached role may be used: how long
// another process may keep honouring a role changed (or a user deleted)
// elsewhere. The process that makes the change invalidates its entry at once.
const DefaultPrincipalTTL = 5 * time.Second

// defaultMaxPrincipals bounds the number of cached principals.
const defaultMaxPrincipals = 100_000

type principalCacheKey struct {
	company tenancy.CompanyID
	user    int64
}

type cachedRole struct {
	role     domain.Role
	storedAt time.Time
}

// PrincipalCache caches (company, user) → the user's current role for a short
// TTL so that authenticating a request does not cost a user read. It is safe
// for concurrent use and bounded in size. Auth.Authenticate fills it;
// Users.Update and Users.Delete invalidate the entry of the user they change.
// A nil *PrincipalCache is valid and caches nothing.
type PrincipalCache struct {
	ttl   time.Duration
	clock ports.Clock
	max   int

	mu      sync.Mutex
	gen     uint64 // bumped by every Invalidate; a load that saw another gen is not stored
	entries map[principalCacheKey]cachedRole
}

// NewPrincipalCache returns an empty cache whose entries live for ttl
// (ttl <= 0 means DefaultPrincipalTTL), timed by clock.
func NewPrincipalCache(ttl time.Duration, clock ports.Clock) *PrincipalCache {
	if ttl <= 0 {
		ttl = DefaultPrincipalTTL
	}
	return &PrincipalCache{ttl: ttl, clock: clock, max: defaultMaxPrincipals, entries: map[principalCacheKey]cachedRole{}}
}

// Lookup returns the cached role of (company, userID) when it is younger than
// both the cache's TTL and maxAge (maxAge <= 0: the TTL only); otherwise it
// calls load and caches its answer. An error from load is returned and
// nothing is cached. A load that overlaps an Invalidate is not cached, so an
// invalidation is never undone by a role read just before it.
func (c *PrincipalCache) Lookup(ctx context.Context, company tenancy.CompanyID, userID int64, maxAge time.Duration,
	load func(ctx context.Context) (domain.Role, error)) (domain.Role, error) {
	if c == nil {
		return load(ctx)
	}
	if maxAge <= 0 || maxAge > c.ttl {
		maxAge = c.ttl
	}
	key := principalCacheKey{company, userID}
	c.mu.Lock()
	e, ok := c.entries[key]
	now := c.clock.Now()
	if ok && now.Sub(e.storedAt) < maxAge && !now.Before(e.storedAt) {
		c.mu.Unlock()
		return e.role, nil
	}
	gen := c.gen
	c.mu.Unlock()

	role, err := load(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.makeRoom(key)
		c.entries[key] = cachedRole{role: role, storedAt: now}
	}
	return role, nil
}

// makeRoom keeps the cache under its bound before key is stored: expired
// entries go first; when every entry is fresh, an arbitrary tenth goes.
// Called with mu held.
func (c *PrincipalCache) makeRoom(key principalCacheKey) {
	if _, ok := c.entries[key]; ok || len(c.entries) < c.max {
		return
	}
	now := c.clock.Now()
	for k, e := range c.entries {
		if now.Sub(e.storedAt) >= c.ttl || now.Before(e.storedAt) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max-c.max/10 {
			break
		}
		delete(c.entries, k)
	}
}

// Invalidate drops the entry of (company, userID) at once; the next
// authentication of that user reads its row again.
func (c *PrincipalCache) Invalidate(_ context.Context, company tenancy.CompanyID, userID int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, principalCacheKey{company, userID})
}

// Len returns the number of cached entries, fresh or not.
func (c *PrincipalCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
