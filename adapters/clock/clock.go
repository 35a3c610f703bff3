// Package clock is the time adapter of Schemata: System implements ports.Clock
// with the operating system's clock. It sits on the outer ring of the hexagon
// and depends inward on ports only; tests replace it with a fake ports.Clock.
package clock

import (
	"time"

	"github.com/schemata/schemata/ports"
)

// System is the real clock. Its zero value is ready to use.
type System struct{}

var _ ports.Clock = System{}

// Now returns the current local time, with its monotonic reading.
func (System) Now() time.Time { return time.Now() }
