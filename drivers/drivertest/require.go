package drivertest

import (
	"fmt"
	"os"
	"testing"
)

// EnvRequireRuntimes, when set (CI sets it in .ci/run), turns a missing
// runtime into a test failure instead of a skip, so that the docker,
// containerd and exec tests cannot pass on CI by not running.
const EnvRequireRuntimes = "NOMADISH_REQUIRE_RUNTIMES"

// SkipOrFail skips the test for a missing runtime, or fails it when
// EnvRequireRuntimes is set.
func SkipOrFail(t testing.TB, format string, args ...interface{}) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(EnvRequireRuntimes) != "" {
		t.Fatalf("%s (and %s is set, so this is a failure, not a skip)", msg, EnvRequireRuntimes)
	}
	t.Skip(msg)
}
