package httpapi_test

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain silences the process-wide logger that the use cases write to
// (each router under test logs to its own buffer, shown when a test fails).
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
