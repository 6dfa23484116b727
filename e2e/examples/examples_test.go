//go:build e2e

// Package examples runs the job files in jobspecs/ that the drivers on
// this machine can run, through a real dev agent.
package examples

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

type allocStub struct {
	ID, ClientStatus, DesiredStatus string
}

func TestExamples(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	cases := []struct {
		file string
		job  string
		// exit is the `job run` exit code.
		exit int
		// status is what every allocation must reach; "" means none placed.
		status string
		count  int
	}{
		{"system.nomad.hcl", "node-agent", 0, "running", 1},
		{"sysbatch.nomad.hcl", "inventory", 0, "complete", 1},
		{"template.nomad.hcl", "configured", 0, "complete", 1},
		{"canary.nomad.hcl", "api", 0, "running", -1},
		{"periodic.nomad.hcl", "cleanup", 0, "", 0},
		{"parameterized.nomad.hcl", "report", 0, "", 0},
		// Four allocations with distinct_hosts on a one-node cluster: one
		// fits, three cannot, and `job run` says so with exit code 2.
		{"placement.nomad.hcl", "placed", 2, "running", 1},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			out, errOut, code := a.CLI("job", "run", filepath.Join("..", "..", "jobspecs", tc.file))
			if code != tc.exit {
				t.Fatalf("job run %s exit = %d, want %d\nstdout: %s\nstderr: %s", tc.file, code, tc.exit, out, errOut)
			}
			if tc.exit == 2 && !strings.Contains(out+errOut, "distinct_hosts") {
				t.Errorf("job run %s does not explain the placement failure:\n%s%s", tc.file, out, errOut)
			}
			e2eutil.WaitFor(t, 60*time.Second, func() error {
				var allocs []allocStub
				if err := a.GetJSON("/v1/job/"+tc.job+"/allocations", &allocs); err != nil {
					return err
				}
				if tc.status == "" {
					if len(allocs) != 0 {
						return fmt.Errorf("%d allocations, want none", len(allocs))
					}
					return nil
				}
				if tc.count >= 0 && len(allocs) != tc.count {
					return fmt.Errorf("%d allocations, want %d", len(allocs), tc.count)
				}
				if len(allocs) == 0 {
					return fmt.Errorf("no allocations yet")
				}
				for _, al := range allocs {
					if al.ClientStatus != tc.status {
						return fmt.Errorf("allocation %s is %s, want %s", al.ID, al.ClientStatus, tc.status)
					}
				}
				return nil
			})
			if _, _, code := a.CLI("job", "status", tc.job); code != 0 {
				t.Errorf("job status %s exit = %d", tc.job, code)
			}
		})
	}
}
