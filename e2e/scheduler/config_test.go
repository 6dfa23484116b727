//go:build e2e

package scheduler

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSchedulerConfiguration changes the scheduler configuration with the
// CLI and reads it back through the CLI and the HTTP API.
func TestSchedulerConfiguration(t *testing.T) {
	srv := startServer(t)

	out, errOut, code := srv.CLI("operator", "scheduler", "get-config")
	if code != 0 || !strings.Contains(out, "Scheduler Algorithm") || !strings.Contains(out, "binpack") {
		t.Fatalf("get-config = %d, want binpack:\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = srv.CLI("operator", "scheduler", "set-config", "-scheduler-algorithm=spread", "-preempt-service-scheduler=true", "-memory-oversubscription=true")
	if code != 0 || !strings.Contains(out, "Scheduler configuration updated!") {
		t.Fatalf("set-config = %d:\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = srv.CLI("operator", "scheduler", "get-config", "-json")
	if code != 0 {
		t.Fatalf("get-config -json = %d:\n%s", code, errOut)
	}
	var cfg struct {
		SchedulerAlgorithm            string
		MemoryOversubscriptionEnabled bool
		PreemptionConfig              struct{ ServiceSchedulerEnabled, SystemSchedulerEnabled bool }
		ModifyIndex                   uint64
	}
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatalf("get-config -json output: %v\n%s", err, out)
	}
	if cfg.SchedulerAlgorithm != "spread" || !cfg.MemoryOversubscriptionEnabled ||
		!cfg.PreemptionConfig.ServiceSchedulerEnabled || !cfg.PreemptionConfig.SystemSchedulerEnabled {
		t.Errorf("get-config -json = %+v, want spread, oversubscription, service and system preemption", cfg)
	}

	var resp struct {
		SchedulerConfig struct{ SchedulerAlgorithm string }
		Index           uint64
	}
	if err := srv.GetJSON("/v1/operator/scheduler/configuration", &resp); err != nil {
		t.Fatal(err)
	}
	if resp.SchedulerConfig.SchedulerAlgorithm != "spread" || resp.Index != cfg.ModifyIndex {
		t.Errorf("GET /v1/operator/scheduler/configuration = %+v, want spread at index %d", resp, cfg.ModifyIndex)
	}

	code, body, err := srv.Do("PUT", "/v1/operator/scheduler/configuration?cas=1", `{"SchedulerAlgorithm": "binpack"}`)
	if err != nil || code != 200 || !strings.Contains(body, `"Updated":false`) {
		t.Errorf("PUT with a stale cas = %d %s %v, want 200 with Updated false", code, body, err)
	}
	code, body, err = srv.Do("PUT", "/v1/operator/scheduler/configuration", `{"SchedulerAlgorithm": "random"}`)
	if err != nil || code != 400 {
		t.Errorf("PUT an unknown algorithm = %d %s %v, want 400", code, body, err)
	}
	_, errOut, code = srv.CLI("operator", "scheduler", "set-config", "-scheduler-algorithm=random")
	if code != 1 || !strings.Contains(errOut, "binpack|spread") {
		t.Errorf("set-config -scheduler-algorithm=random = %d %q, want 1 naming the choices", code, errOut)
	}
}
