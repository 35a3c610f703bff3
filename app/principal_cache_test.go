package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports/portsmock"
	"github.com/schemata/schemata/tenancy"
)

// login returns a token of the seeded user.
func (s *seeded) token(t *testing.T, email, password string) string {
	t.Helper()
	tok, err := s.w.auth.Login(context.Background(), email, password)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

func TestPrincipalCacheHitAndExpiry(t *testing.T) {
	s := seed(t)
	w := s.w
	tok := s.token(t, "user@acme.test", "password1")
	reads := func() int { return len(w.userRepo.GetCalls()) }
	n := reads()
	p, err := w.authCached.Authenticate(context.Background(), tok)
	if err != nil || p.Role != domain.RoleUser || p.UserID != s.user.UserID || p.CompanyID != s.c {
		t.Fatalf("first %+v %v", p, err)
	}
	if reads() != n+1 {
		t.Fatalf("miss did not read the user: %d reads", reads()-n)
	}
	w.now = w.now.Add(4 * time.Second)
	p, err = w.authCached.Authenticate(context.Background(), tok)
	if err != nil || p.Role != domain.RoleUser || p.UserID != s.user.UserID || reads() != n+1 {
		t.Fatalf("hit: %+v %v, %d reads", p, err, reads()-n)
	}
	// A change made behind the cache's back (another process) shows after the TTL.
	u := w.users[s.c][s.user.UserID]
	u.Role = domain.RoleViewer
	w.users[s.c][s.user.UserID] = u
	if p, _ := w.authCached.Authenticate(context.Background(), tok); p.Role != domain.RoleUser {
		t.Fatalf("within the TTL the cached role is used, got %s", p.Role)
	}
	w.now = w.now.Add(time.Second)
	if p, _ := w.authCached.Authenticate(context.Background(), tok); p.Role != domain.RoleViewer || reads() != n+2 {
		t.Fatalf("after the TTL: role %s, %d reads", p.Role, reads()-n)
	}
	// The directory is asked first, every time, even on a hit.
	delete(w.companies, s.c)
	_, err = w.authCached.Authenticate(context.Background(), tok)
	wantCode(t, err, domain.CodeUnauthenticated)
}

func TestPrincipalCacheInvalidatedByRoleChangeAndDelete(t *testing.T) {
	s := seed(t)
	w := s.w
	tok := s.token(t, "user@acme.test", "password1")
	if _, err := w.authCached.Authenticate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if _, err := w.usersSvc.Update(as(s.admin), s.user.UserID, app.UserPatch{Role: ptr("viewer")}); err != nil {
		t.Fatal(err)
	}
	p, err := w.authCached.Authenticate(context.Background(), tok)
	if err != nil || p.Role != domain.RoleViewer {
		t.Fatalf("role change not seen at once: %+v %v", p, err)
	}
	if err := w.usersSvc.Delete(as(s.admin), s.user.UserID); err != nil {
		t.Fatal(err)
	}
	_, err = w.authCached.Authenticate(context.Background(), tok)
	wantCode(t, err, domain.CodeUnauthenticated)
	if w.principals.Len() != 0 {
		t.Fatalf("entries left: %d", w.principals.Len())
	}
}

func TestPrincipalTTLOfAuthConfigCapsTheCache(t *testing.T) {
	s := seed(t)
	w := s.w
	auth := app.NewAuth(app.AuthDeps{UoW: w.uow, Directory: w.dir, Users: w.userRepo, Audit: w.auditM, Tokens: w.tokensM,
		Clock: w.clock, Principals: w.principals}, app.AuthConfig{PrincipalTTL: time.Second})
	tok := s.token(t, "user@acme.test", "password1")
	n := len(w.userRepo.GetCalls())
	for i := 0; i < 3; i++ {
		if _, err := auth.Authenticate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		w.now = w.now.Add(600 * time.Millisecond)
	}
	// t=0 miss, t=0.6 hit, t=1.2 miss (older than 1s although the cache keeps 5s)
	if got := len(w.userRepo.GetCalls()) - n; got != 2 {
		t.Fatalf("reads %d, want 2", got)
	}
}

func TestPrincipalCacheLookup(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &portsmock.ClockMock{NowFunc: func() time.Time { return now }}
	c := app.NewPrincipalCache(0, clock) // default TTL
	ctx := context.Background()
	loads := 0
	load := func(role domain.Role) func(context.Context) (domain.Role, error) {
		return func(context.Context) (domain.Role, error) { loads++; return role, nil }
	}
	if r, _ := c.Lookup(ctx, 1, 7, 0, load(domain.RoleAdmin)); r != domain.RoleAdmin || loads != 1 {
		t.Fatal("miss")
	}
	// keys are (company, user): the same user id in another company is another entry
	if r, _ := c.Lookup(ctx, 2, 7, 0, load(domain.RoleViewer)); r != domain.RoleViewer || loads != 2 {
		t.Fatal("company not part of the key")
	}
	now = now.Add(app.DefaultPrincipalTTL - time.Nanosecond)
	if r, _ := c.Lookup(ctx, 1, 7, 0, load(domain.RoleUser)); r != domain.RoleAdmin || loads != 2 {
		t.Fatal("want a hit just before the default TTL")
	}
	now = now.Add(time.Nanosecond)
	if r, _ := c.Lookup(ctx, 1, 7, 0, load(domain.RoleUser)); r != domain.RoleUser || loads != 3 {
		t.Fatal("want a miss at the TTL")
	}
	// A clock that goes backwards does not make an entry live forever.
	now = now.Add(-time.Hour)
	if _, _ = c.Lookup(ctx, 1, 7, 0, load(domain.RoleUser)); loads != 4 {
		t.Fatal("entry from the future trusted")
	}
	// Errors are returned and not cached.
	boom := errors.New("db down")
	if _, err := c.Lookup(ctx, 3, 1, 0, func(context.Context) (domain.Role, error) { return "", boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if r, _ := c.Lookup(ctx, 3, 1, 0, load(domain.RoleUser)); r != domain.RoleUser || loads != 5 {
		t.Fatal("an error was cached")
	}
	// A load that overlaps an invalidation of its key is not cached: the
	// role it read may predate the change.
	if _, err := c.Lookup(ctx, 4, 1, 0, func(ctx context.Context) (domain.Role, error) {
		c.Invalidate(ctx, 4, 1)
		return domain.RoleAdmin, nil
	}); err != nil {
		t.Fatal(err)
	}
	if r, _ := c.Lookup(ctx, 4, 1, 0, load(domain.RoleViewer)); r != domain.RoleViewer {
		t.Fatal("a load that raced an invalidation was cached")
	}
	// nil cache: always loads
	var nilCache *app.PrincipalCache
	n := loads
	for i := 0; i < 2; i++ {
		if _, err := nilCache.Lookup(ctx, 1, 1, 0, load(domain.RoleUser)); err != nil {
			t.Fatal(err)
		}
	}
	nilCache.Invalidate(ctx, 1, 1)
	if loads != n+2 || nilCache.Len() != 0 {
		t.Fatal("nil cache cached")
	}
}

func TestPrincipalCacheIsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &portsmock.ClockMock{NowFunc: func() time.Time { return now }}
	c := app.NewPrincipalCache(time.Second, clock)
	app.SetPrincipalCacheMax(c, 100)
	ctx := context.Background()
	user := func(context.Context) (domain.Role, error) { return domain.RoleUser, nil }
	for i := int64(1); i <= 1000; i++ {
		if _, err := c.Lookup(ctx, tenancy.CompanyID(i%7+1), i, 0, user); err != nil {
			t.Fatal(err)
		}
		if c.Len() > 100 {
			t.Fatalf("%d entries after %d inserts", c.Len(), i)
		}
	}
	// Expired entries are dropped first: after the TTL, the cache fills up
	// again, makes room by dropping the expired entries only, and keeps every
	// fresh one.
	now = now.Add(2 * time.Second)
	for i := int64(5000); i < 5020; i++ {
		if _, err := c.Lookup(ctx, 1, i, 0, user); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() > 20 {
		t.Fatalf("expired entries kept: %d", c.Len())
	}
	loads := 0
	for i := int64(5000); i < 5020; i++ {
		if _, err := c.Lookup(ctx, 1, i, 0, func(context.Context) (domain.Role, error) { loads++; return domain.RoleUser, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if loads != 0 {
		t.Fatalf("fresh entries evicted: %d reloads", loads)
	}
}

func TestPrincipalCacheConcurrentUse(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &portsmock.ClockMock{NowFunc: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	c := app.NewPrincipalCache(time.Second, clock)
	app.SetPrincipalCacheMax(c, 50)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := int64(0); i < 200; i++ {
				uid := i%60 + 1
				if _, err := c.Lookup(ctx, 1, uid, 0, func(context.Context) (domain.Role, error) { return domain.RoleUser, nil }); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					c.Invalidate(ctx, 1, uid)
				}
				if i%50 == 0 {
					mu.Lock()
					now = now.Add(300 * time.Millisecond)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 50 {
		t.Fatalf("bound exceeded: %d", c.Len())
	}
}
