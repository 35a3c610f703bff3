package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time { return c.now }

func (l *Limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

func TestKeysStayWithinMaxKeys(t *testing.T) {
	for _, maxKeys := range []int{1, 2, 10, 100} {
		t.Run(fmt.Sprint(maxKeys), func(t *testing.T) {
			l, err := New(Config{MaxKeys: maxKeys, Clock: &stepClock{}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 20 * maxKeys {
				l.Failed(context.Background(), fmt.Sprint(i))
				if n := l.size(); n > maxKeys {
					t.Fatalf("%d keys tracked, MaxKeys %d", n, maxKeys)
				}
			}
			if l.size() == 0 {
				t.Fatal("no key tracked")
			}
		})
	}
}

func TestEvictionDropsRefilledKeysFirst(t *testing.T) {
	clock := &stepClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, err := New(Config{MaxKeys: 10, Burst: 5, Every: time.Minute, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 9 {
		l.Failed(ctx, fmt.Sprint("old-", i))
	}
	l.Failed(ctx, "recent") // 10 keys, all with 4 tokens
	clock.now = clock.now.Add(5 * time.Minute)
	l.Failed(ctx, "recent")   // recent: 4 again; the old keys have refilled
	l.Failed(ctx, "newcomer") // over MaxKeys: the sweep runs

	if n := l.size(); n != 2 {
		t.Fatalf("%d keys after the sweep, want 2 (the refilled keys dropped)", n)
	}
	for _, k := range []string{"recent", "newcomer"} {
		if _, ok := l.keys[k]; !ok {
			t.Errorf("key %q evicted", k)
		}
	}
}
