package tenancy

import (
	"context"
	"sync"
	"time"
)

// DirectorySource answers whether a company exists; the postgres adapter
// implements it with one primary-key lookup in public.companies.
type DirectorySource interface {
	CompanyExists(ctx context.Context, id CompanyID) (bool, error)
}

// Directory caches which companies exist so that authenticating a request
// does not cost a query. Positive answers are cached for TTL; negative answers
// are never cached (a company created a moment ago is found at once).
// Invalidate drops an entry immediately; the provisioner calls it on delete so a
// token for a deleted company is refused at once by this process. Other
// processes notice within TTL.
type Directory struct {
	source DirectorySource
	ttl    time.Duration
	now    func() time.Time

	mu    sync.RWMutex
	known map[CompanyID]time.Time // id → expiry
}

// DefaultDirectoryTTL bounds how long another process may keep accepting a
// token for a company deleted elsewhere.
const DefaultDirectoryTTL = 5 * time.Second

// NewDirectory returns a directory over source; ttl <= 0 means DefaultDirectoryTTL.
func NewDirectory(source DirectorySource, ttl time.Duration) *Directory {
	if ttl <= 0 {
		ttl = DefaultDirectoryTTL
	}
	return &Directory{source: source, ttl: ttl, now: time.Now, known: map[CompanyID]time.Time{}}
}

// Exists reports whether the company exists, from the cache when fresh.
func (d *Directory) Exists(ctx context.Context, id CompanyID) (bool, error) {
	if !id.Valid() {
		return false, nil
	}
	now := d.now()
	d.mu.RLock()
	exp, ok := d.known[id]
	d.mu.RUnlock()
	if ok && now.Before(exp) {
		return true, nil
	}
	exists, err := d.source.CompanyExists(ctx, id)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	if exists {
		d.known[id] = now.Add(d.ttl)
	} else {
		delete(d.known, id)
	}
	d.mu.Unlock()
	return exists, nil
}

// Invalidate forgets id; the next Exists asks the source.
func (d *Directory) Invalidate(_ context.Context, id CompanyID) {
	d.mu.Lock()
	delete(d.known, id)
	d.mu.Unlock()
}
