package password

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestDefaultConcurrencyIsNumCPU(t *testing.T) {
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if cap(h.sem) != runtime.NumCPU() {
		t.Fatalf("semaphore of %d, want runtime.NumCPU() = %d", cap(h.sem), runtime.NumCPU())
	}
}

func TestWaitingForASlotRespectsContext(t *testing.T) {
	h, err := New(Config{MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	phc := h.DummyPHC()
	var entered atomic.Int32
	h.inside = func(delta int) {
		if delta > 0 {
			entered.Add(1)
		}
	}

	h.sem <- struct{}{} // another operation holds the only slot

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(cancelled, "password"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with the slot taken and a cancelled context = %v, want context.Canceled", err)
	}
	if ok, err := h.Verify(cancelled, "password", phc); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with the slot taken and a cancelled context = %v, %v, want context.Canceled", ok, err)
	}

	// A caller already waiting is released by cancellation, not by the slot.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { _, err := h.Hash(ctx, "password"); done <- err }()
	go func() { _, err := h.Verify(ctx, "password", phc); done <- err }()
	cancel()
	for range 2 {
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("waiting caller got %v after cancel, want context.Canceled", err)
		}
	}
	if n := entered.Load(); n != 0 {
		t.Fatalf("%d operations ran while the only slot was taken", n)
	}

	<-h.sem // the slot is free again
	if _, err := h.Hash(context.Background(), "password"); err != nil {
		t.Fatalf("Hash after the slot was freed: %v", err)
	}
	if entered.Load() != 1 || len(h.sem) != 0 {
		t.Fatalf("entered %d, slots held %d after one Hash; want 1 and 0", entered.Load(), len(h.sem))
	}
}

func TestConcurrencyBound(t *testing.T) {
	const limit = 2
	h, err := New(Config{MaxConcurrent: limit})
	if err != nil {
		t.Fatal(err)
	}
	phc := h.DummyPHC()
	var now, peak atomic.Int32
	h.inside = func(delta int) {
		n := now.Add(int32(delta))
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
	}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = h.Hash(context.Background(), "password")
			} else {
				_, err = h.Verify(context.Background(), "password", phc)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p < 1 || p > limit {
		t.Fatalf("peak concurrency %d, want between 1 and %d", p, limit)
	}
	if now.Load() != 0 || len(h.sem) != 0 {
		t.Fatalf("after all operations: %d inside, %d slots held", now.Load(), len(h.sem))
	}
}
