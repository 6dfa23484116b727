package server

import (
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestJobRegisterChecksTaskConfig(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	node := testNode(structs.GenerateUUID())
	node.Drivers["ext"] = &structs.DriverInfo{Detected: true, Healthy: true}
	var nreply structs.NodeUpdateResponse
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: node}, &nreply); err != nil {
		t.Fatalf("Node.Register() = %v", err)
	}
	tests := []struct {
		name    string
		driver  string
		config  map[string]interface{}
		wantErr string
	}{
		{"valid", "raw_exec", map[string]interface{}{"command": "/bin/true"}, ""},
		{"wrong type", "raw_exec", map[string]interface{}{"command": "/bin/sh", "args": []interface{}{1.0}},
			`group "web" -> task "server": config.args[0]: want string, got number`},
		{"unknown field", "raw_exec", map[string]interface{}{"command": "/bin/true", "comand": "x"},
			`group "web" -> task "server": config.comand: unknown field`},
		{"unknown driver", "dokcer", map[string]interface{}{"image": "x"},
			`group "web" -> task "server": unknown driver "dokcer"`},
		{"driver a node detected", "ext", map[string]interface{}{"anything": 1.0}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := strings.ReplaceAll(tc.name, " ", "-")
			job := testJob(id, 1)
			job.TaskGroups[0].Tasks[0].Driver = tc.driver
			job.TaskGroups[0].Tasks[0].Config = tc.config
			err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{})
			if gotErr := errString(err); !strings.Contains(gotErr, tc.wantErr) || (tc.wantErr == "") != (err == nil) {
				t.Errorf("Job.Register(%s) = %q, want %q", tc.name, gotErr, tc.wantErr)
			}
			stored, err := s.State().JobByID(nil, "default", id)
			if err != nil {
				t.Fatalf("JobByID() = %v", err)
			}
			if got, want := stored != nil, tc.wantErr == ""; got != want {
				t.Errorf("job %s stored = %v, want %v", id, got, want)
			}

			job = testJob(id, 1)
			job.TaskGroups[0].Tasks[0].Driver = tc.driver
			job.TaskGroups[0].Tasks[0].Config = tc.config
			var vreply structs.JobValidateResponse
			if err := s.RPC("Job.Validate", &structs.JobValidateRequest{Job: job}, &vreply); err != nil {
				t.Fatalf("Job.Validate() = %v", err)
			}
			if !strings.Contains(vreply.Error, tc.wantErr) || (tc.wantErr == "") != (vreply.Error == "") {
				t.Errorf("Job.Validate(%s).Error = %q, want %q", tc.name, vreply.Error, tc.wantErr)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
