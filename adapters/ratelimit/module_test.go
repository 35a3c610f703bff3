package ratelimit_test

import (
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/schemata/schemata/adapters/ratelimit"
	"github.com/schemata/schemata/ports"
)

func TestModule(t *testing.T) {
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	var l ports.LoginLimiter
	app := fx.New(fx.NopLogger,
		ratelimit.Module,
		fx.Supply(ratelimit.Config{Burst: 1, Every: time.Minute}),
		fx.Provide(func() ports.Clock { return clock }),
		fx.Populate(&l),
	)
	if err := app.Err(); err != nil {
		t.Fatalf("fx graph: %v", err)
	}
	l.Failed(ctx, "alice")
	if l.Allow(ctx, "alice") {
		t.Fatal("allowed after Burst failures")
	}
	clock.Advance(time.Minute)
	if !l.Allow(ctx, "alice") {
		t.Fatal("the limiter does not use the graph's clock")
	}

	bad := fx.New(fx.NopLogger,
		ratelimit.Module,
		fx.Supply(ratelimit.Config{Burst: -1}),
		fx.Invoke(func(ports.LoginLimiter) {}),
	)
	if bad.Err() == nil {
		t.Fatal("fx graph accepted a negative burst")
	}
}
