package token_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/schemata/schemata/adapters/token"
	"github.com/schemata/schemata/ports"
)

func TestModuleUsesTheGraphClock(t *testing.T) {
	clock := newClock(t0)
	var issuer ports.TokenIssuer
	app := fx.New(fx.NopLogger,
		token.Module,
		fx.Supply(token.Config{Secret: secret('a'), Issuer: testIssuer, Audience: testAudience}),
		fx.Provide(func() ports.Clock { return clock }),
		fx.Populate(&issuer),
	)
	if err := app.Err(); err != nil {
		t.Fatalf("fx graph: %v", err)
	}
	s, _, err := issuer.Issue(context.Background(), sample)
	if err != nil {
		t.Fatal(err)
	}
	got, err := issuer.Verify(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedAt.Equal(t0) {
		t.Errorf("iat = %v, want the graph clock's %v", got.IssuedAt, t0)
	}
}

func TestModuleConfigClockWins(t *testing.T) {
	own := newClock(t0.Add(time.Hour))
	for name, graph := range map[string]fx.Option{
		"graph without a clock": fx.Options(),
		"graph with a clock":    fx.Provide(func() ports.Clock { return newClock(t0) }),
	} {
		t.Run(name, func(t *testing.T) {
			var issuer ports.TokenIssuer
			app := fx.New(fx.NopLogger,
				token.Module,
				fx.Supply(token.Config{Secret: secret('a'), Issuer: testIssuer, Audience: testAudience, Clock: own}),
				graph,
				fx.Populate(&issuer),
			)
			if err := app.Err(); err != nil {
				t.Fatalf("fx graph: %v", err)
			}
			s, _, err := issuer.Issue(context.Background(), sample)
			if err != nil {
				t.Fatal(err)
			}
			got, err := issuer.Verify(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if !got.IssuedAt.Equal(own.Now()) {
				t.Errorf("iat = %v, want the config clock's %v", got.IssuedAt, own.Now())
			}
		})
	}
}

func TestModuleRejectsBadConfig(t *testing.T) {
	app := fx.New(fx.NopLogger,
		token.Module,
		fx.Supply(token.Config{Secret: []byte("short"), Issuer: testIssuer, Audience: testAudience}),
		fx.Invoke(func(ports.TokenIssuer) {}),
	)
	if app.Err() == nil {
		t.Fatal("fx graph accepted a short secret")
	}
}
