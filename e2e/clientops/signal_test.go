//go:build e2e

package clientops

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

// TestSignalWithoutTaskReachesEveryTask signals an allocation of two tasks
// without naming one: both get the signal, as in Nomad.
func TestSignalWithoutTaskReachesEveryTask(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	if out, errOut, code := a.CLI("job", "run", "-detach", "input/pair.nomad.hcl"); code != 0 {
		t.Fatalf("job run = %d\n%s\n%s", code, out, errOut)
	}
	alloc := runningAlloc(t, a, "pair")
	e2eutil.WaitFor(t, 20*time.Second, func() error {
		var d allocDetail
		if err := a.GetJSON("/v1/allocation/"+alloc.ID, &d); err != nil {
			return err
		}
		if d.TaskStates["a"].State != "running" || d.TaskStates["b"].State != "running" {
			return fmt.Errorf("task states %+v", d.TaskStates)
		}
		return nil
	})
	if out, errOut, code := a.CLI("alloc", "signal", "-s", "SIGUSR1", alloc.ID); code != 0 {
		t.Fatalf("alloc signal = %d %q %q", code, out, errOut)
	}
	for _, task := range []string{"a", "b"} {
		e2eutil.WaitFor(t, 10*time.Second, func() error {
			out, _, _ := a.CLI("alloc", "logs", alloc.ID, task)
			if !strings.Contains(out, "got-usr1") {
				return fmt.Errorf("%s logs = %q", task, out)
			}
			return nil
		})
	}
}
