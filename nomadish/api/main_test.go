package api

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a request or log stream leaves a goroutine
// behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
