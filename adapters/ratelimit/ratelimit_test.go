package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/schemata/schemata/adapters/ratelimit"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newLimiter(t *testing.T, cfg ratelimit.Config) (*ratelimit.Limiter, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Clock = clock
	l, err := ratelimit.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l, clock
}

var ctx = context.Background()

func fail(l *ratelimit.Limiter, key string, n int) {
	for range n {
		l.Failed(ctx, key)
	}
}

func TestBlocksAfterBurst(t *testing.T) {
	l, _ := newLimiter(t, ratelimit.Config{}) // defaults: 5 failures, one per minute
	if !l.Allow(ctx, "alice") {
		t.Fatal("unknown key blocked")
	}
	for i := range 5 {
		if !l.Allow(ctx, "alice") {
			t.Fatalf("blocked after %d failures, want 5", i)
		}
		if !l.Allow(ctx, "alice") {
			t.Fatal("Allow consumed a token")
		}
		l.Failed(ctx, "alice")
	}
	if l.Allow(ctx, "alice") {
		t.Fatal("allowed after 5 failures")
	}
	fail(l, "alice", 10)
	if l.Allow(ctx, "alice") {
		t.Fatal("allowed after 15 failures")
	}
}

func TestRefillsAfterInterval(t *testing.T) {
	l, clock := newLimiter(t, ratelimit.Config{Burst: 5, Every: time.Minute})
	fail(l, "alice", 5)

	clock.Advance(59 * time.Second)
	if l.Allow(ctx, "alice") {
		t.Fatal("allowed before one interval passed")
	}
	clock.Advance(time.Second)
	if !l.Allow(ctx, "alice") {
		t.Fatal("blocked after one interval")
	}
	l.Failed(ctx, "alice") // one interval gives back one attempt only
	if l.Allow(ctx, "alice") {
		t.Fatal("allowed a second attempt after one interval")
	}

	clock.Advance(time.Hour) // the bucket holds at most Burst tokens
	fail(l, "alice", 5)
	if l.Allow(ctx, "alice") {
		t.Fatal("an idle hour gave more than Burst attempts")
	}
}

func TestFailuresWhileBlockedDoNotExtendTheBlock(t *testing.T) {
	l, clock := newLimiter(t, ratelimit.Config{Burst: 2, Every: time.Minute})
	fail(l, "alice", 2)
	clock.Advance(30 * time.Second)
	fail(l, "alice", 100)
	clock.Advance(30 * time.Second)
	if !l.Allow(ctx, "alice") {
		t.Fatal("failures while blocked postponed the refill")
	}
}

func TestSuccessResets(t *testing.T) {
	l, _ := newLimiter(t, ratelimit.Config{})
	fail(l, "alice", 5)
	if l.Allow(ctx, "alice") {
		t.Fatal("allowed after 5 failures")
	}
	l.Succeeded(ctx, "alice")
	if !l.Allow(ctx, "alice") {
		t.Fatal("blocked after success")
	}
	fail(l, "alice", 4)
	if !l.Allow(ctx, "alice") {
		t.Fatal("blocked after 4 failures following a success: the reset was partial")
	}
	l.Failed(ctx, "alice")
	if l.Allow(ctx, "alice") {
		t.Fatal("allowed after 5 failures following a success")
	}
	l.Succeeded(ctx, "nobody") // unknown keys are fine
}

func TestKeysAreIndependent(t *testing.T) {
	l, _ := newLimiter(t, ratelimit.Config{})
	fail(l, "alice", 5)
	fail(l, "bob", 4)
	if l.Allow(ctx, "alice") {
		t.Fatal("alice allowed")
	}
	if !l.Allow(ctx, "bob") || !l.Allow(ctx, "carol") || !l.Allow(ctx, "Alice") {
		t.Fatal("another key is blocked by alice's failures")
	}
	l.Succeeded(ctx, "bob")
	if l.Allow(ctx, "alice") {
		t.Fatal("bob's success unblocked alice")
	}
}

func TestBlockedKeySurvivesAFloodOfKeys(t *testing.T) {
	l, clock := newLimiter(t, ratelimit.Config{MaxKeys: 10})
	fail(l, "victim", 5)
	for i := range 1000 {
		l.Failed(ctx, fmt.Sprintf("flood-%d", i))
		if i%100 == 0 {
			clock.Advance(time.Second)
		}
	}
	if l.Allow(ctx, "victim") {
		t.Fatal("a flood of other keys unblocked the victim")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for name, cfg := range map[string]ratelimit.Config{
		"negative burst":    {Burst: -1},
		"negative interval": {Every: -time.Second},
		"negative max keys": {MaxKeys: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if l, err := ratelimit.New(cfg); err == nil || l != nil {
				t.Fatalf("New(%+v) = %v, %v; want an error", cfg, l, err)
			}
		})
	}
	l, err := ratelimit.New(ratelimit.Config{}) // system clock
	if err != nil {
		t.Fatal(err)
	}
	fail(l, "alice", 5)
	if l.Allow(ctx, "alice") {
		t.Fatal("system clock: allowed after 5 failures")
	}
}

func TestConcurrentUse(t *testing.T) {
	l, clock := newLimiter(t, ratelimit.Config{MaxKeys: 50})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				key := fmt.Sprintf("k%d", (g*31+i)%80)
				switch i % 4 {
				case 0, 1:
					l.Failed(ctx, key)
				case 2:
					l.Allow(ctx, key)
				case 3:
					if i%40 == 3 {
						l.Succeeded(ctx, key)
					}
					clock.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	fail(l, "final", 5)
	if l.Allow(ctx, "final") {
		t.Fatal("limiter broken after concurrent use")
	}
}

func TestRetryAfter(t *testing.T) {
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, err := ratelimit.New(ratelimit.Config{Burst: 2, Every: time.Minute, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if d := l.RetryAfter(ctx, "bob"); d != 0 {
		t.Fatalf("unknown key waits %v", d)
	}
	l.Failed(ctx, "bob")
	l.Failed(ctx, "bob")
	if d := l.RetryAfter(ctx, "bob"); d < 59*time.Second || d > time.Minute {
		t.Fatalf("blocked key waits %v, want about a minute", d)
	}
	clock.Advance(30 * time.Second)
	if d := l.RetryAfter(ctx, "bob"); d < 29*time.Second || d > 30*time.Second {
		t.Fatalf("after 30s the key waits %v, want about 30s", d)
	}
	clock.Advance(30 * time.Second)
	if d := l.RetryAfter(ctx, "bob"); d != 0 || !l.Allow(ctx, "bob") {
		t.Fatalf("refilled key waits %v", d)
	}
}
