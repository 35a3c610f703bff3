package clock_test

import (
	"testing"
	"time"

	"github.com/schemata/schemata/adapters/clock"
)

func TestSystemNowIsCurrentTime(t *testing.T) {
	before := time.Now()
	got := clock.System{}.Now()
	after := time.Now()
	if got.Before(before) || got.After(after) {
		t.Fatalf("Now() = %v, want between %v and %v", got, before, after)
	}
}
