package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestDecodeJSONJobIsStrict(t *testing.T) {
	job := &structs.Job{ID: "web", Name: "web", Type: structs.JobTypeService, Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{Name: "g", Count: 2, Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec",
			Config: map[string]interface{}{"command": "/bin/sleep"}}}}}}
	raw, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, _ := json.Marshal(map[string]interface{}{"Job": job})
	for _, src := range [][]byte{raw, wrapped} {
		got, err := decodeJSONJob(src)
		if err != nil || got.ID != "web" || got.TaskGroups[0].Count != 2 {
			t.Fatalf("decodeJSONJob(%.60s...) = %+v, %v; want the job back", src, got, err)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{`{"Job": {"ID": "web", "Bogus": 1}}`, `Job.Bogus`},
		{`{"ID": "web", "TaskGroups": [{"Name": "g", "Count": "two"}]}`, `TaskGroups[0].Count`},
		{`{"Job": {"ID": "web"}} trailing`, `after top-level value`},
		{`{"Job": null}`, `no job found`},
	} {
		_, err := decodeJSONJob([]byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "request body") {
			t.Errorf("decodeJSONJob(%s) error = %v, want one naming %q", tc.src, err, tc.want)
		}
	}
}
