package command

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJobStatusJSONAndTemplate(t *testing.T) {
	_, addr := testCluster(t)
	code, out, errOut := runCmd(t, jobStatus, "", "-address="+addr, "-json", jobID)
	if code != 0 {
		t.Fatalf("job status -json exit = %d, stderr %q", code, errOut)
	}
	var job struct{ ID string }
	if err := json.Unmarshal([]byte(out), &job); err != nil || job.ID != jobID {
		t.Errorf("job status -json = %q (%v), want the job as JSON", out, err)
	}
	code, out, _ = runCmd(t, jobStatus, "", "-address="+addr, "-t", "{{ .ID }}:{{ .Type }}", jobID)
	if code != 0 || strings.TrimSpace(out) != jobID+":service" {
		t.Errorf("job status -t = %d %q, want %q", code, out, jobID+":service")
	}
	code, out, _ = runCmd(t, jobStatus, "", "-address="+addr, "-json")
	var list []struct{ ID string }
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) == 0 {
		t.Errorf("job status -json (list) = %d %q (%v)", code, out, err)
	}
}
