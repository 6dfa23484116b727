//go:build e2e

package nomadapi

import (
	"errors"
	"os"
	"strings"
	"testing"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

// TestNomadAPIRequests sends the write requests of Nomad's Go client that
// the other tests do not, through the agent's strict body decoder, and
// checks that a body with an unknown field is refused naming it.
func TestNomadAPIRequests(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	conf := nomad.DefaultConfig()
	conf.Address = a.Addr
	c, err := nomad.NewClient(conf)
	if err != nil {
		t.Fatalf("nomad api NewClient: %v", err)
	}
	src, err := os.ReadFile("../../jobspecs/web.nomad.hcl")
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.Jobs().ParseHCL(string(src), true)
	if err != nil {
		t.Fatalf("Jobs().ParseHCL: %v", err)
	}

	v, _, err := c.Jobs().Validate(job, nil)
	if err != nil || len(v.ValidationErrors) != 0 {
		t.Fatalf("Jobs().Validate = %+v, %v; want no errors", v, err)
	}
	plan, _, err := c.Jobs().Plan(job, true, nil)
	if err != nil || plan.Diff == nil || plan.Diff.Type != "Added" {
		t.Fatalf("Jobs().Plan = %+v, %v; want an Added diff", plan, err)
	}
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	evalID, _, err := c.Jobs().EvaluateWithOpts("web", nomad.EvalOptions{ForceReschedule: true}, nil)
	if err != nil || evalID == "" {
		t.Fatalf("Jobs().EvaluateWithOpts(ForceReschedule) = %q, %v", evalID, err)
	}

	sc, _, err := c.Operator().SchedulerGetConfiguration(nil)
	if err != nil || sc.SchedulerConfig == nil {
		t.Fatalf("Operator().SchedulerGetConfiguration = %+v, %v", sc, err)
	}
	cfg := sc.SchedulerConfig
	cfg.PreemptionConfig.BatchSchedulerEnabled = true
	if _, _, err := c.Operator().SchedulerSetConfiguration(cfg, nil); err != nil {
		t.Fatalf("Operator().SchedulerSetConfiguration: %v", err)
	}
	sc, _, err = c.Operator().SchedulerGetConfiguration(nil)
	if err != nil || !sc.SchedulerConfig.PreemptionConfig.BatchSchedulerEnabled {
		t.Fatalf("scheduler config after set = %+v, %v; want batch preemption on", sc, err)
	}

	// Unknown fields and wrong types are refused, naming the field.
	for _, tc := range []struct {
		body any
		want string
	}{
		{map[string]any{"Job": map[string]any{"ID": "web", "Bogus": 1}}, `unknown field "Job.Bogus"`},
		{map[string]any{"Job": map[string]any{"ID": "web", "TaskGroups": []any{map[string]any{"Count": "3"}}}}, `field "Job.TaskGroups[0].Count"`},
	} {
		_, err := c.Raw().Write("/v1/jobs", tc.body, nil, nil)
		var ue nomad.UnexpectedResponseError
		if !errors.As(err, &ue) || ue.StatusCode() != 400 || !strings.Contains(ue.Body(), tc.want) {
			t.Errorf("PUT /v1/jobs %v = %v, want 400 with %s", tc.body, err, tc.want)
		}
	}
}
