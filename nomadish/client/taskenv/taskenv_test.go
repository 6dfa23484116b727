package taskenv

import (
	"reflect"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func testInput() Input {
	task := &structs.Task{
		Name: "web",
		Env:  map[string]string{"BIND": "${NOMAD_ADDR_http}", "DC": "dc is ${node.datacenter}", "K": "${attr.kernel.name}-${meta.rack}-${nope}"},
		Meta: map[string]string{"version": "v2"},
	}
	job := &structs.Job{ID: "job1", Name: "Job One", Region: "global", Meta: map[string]string{"owner": "me", "version": "v1"},
		TaskGroups: []*structs.TaskGroup{{Name: "grp", Tasks: []*structs.Task{task}}}}
	alloc := &structs.Allocation{
		ID: "0123456789abcdef", Name: "job1.grp[3]", Namespace: "default", JobID: "job1", TaskGroup: "grp", Job: job,
		AllocatedResources: &structs.AllocatedResources{
			Tasks:  map[string]*structs.AllocatedTaskResources{"web": {Cpu: structs.AllocatedCpuResources{CpuShares: 500}, Memory: structs.AllocatedMemoryResources{MemoryMB: 256}}},
			Shared: structs.AllocatedSharedResources{Ports: []structs.AllocatedPortMapping{{Label: "http", Value: 23456, HostIP: "10.0.0.5"}, {Label: "db-port", Value: 25000, To: 5432, HostIP: "10.0.0.5"}}},
		},
	}
	node := &structs.Node{ID: "node-1", Name: "n1", Datacenter: "dc1", Attributes: map[string]string{"kernel.name": "linux"}, Meta: map[string]string{"rack": "r1"}}
	return Input{Node: node, Region: "global", Alloc: alloc, Task: task, Dirs: Dirs{AllocDir: "/a/alloc", TaskDir: "/a/web/local", SecretsDir: "/a/web/secrets"}}
}

func TestBuild(t *testing.T) {
	e := Build(testInput())
	want := map[string]string{
		"NOMAD_ALLOC_ID":          "0123456789abcdef",
		"NOMAD_SHORT_ALLOC_ID":    "01234567",
		"NOMAD_ALLOC_NAME":        "job1.grp[3]",
		"NOMAD_ALLOC_INDEX":       "3",
		"NOMAD_JOB_ID":            "job1",
		"NOMAD_JOB_NAME":          "Job One",
		"NOMAD_GROUP_NAME":        "grp",
		"NOMAD_TASK_NAME":         "web",
		"NOMAD_NAMESPACE":         "default",
		"NOMAD_REGION":            "global",
		"NOMAD_DC":                "dc1",
		"NOMAD_ALLOC_DIR":         "/a/alloc",
		"NOMAD_TASK_DIR":          "/a/web/local",
		"NOMAD_SECRETS_DIR":       "/a/web/secrets",
		"NOMAD_CPU_LIMIT":         "500",
		"NOMAD_MEMORY_LIMIT":      "256",
		"NOMAD_META_owner":        "me",
		"NOMAD_META_OWNER":        "me",
		"NOMAD_META_version":      "v2",
		"NOMAD_IP_http":           "10.0.0.5",
		"NOMAD_PORT_http":         "23456",
		"NOMAD_ADDR_http":         "10.0.0.5:23456",
		"NOMAD_HOST_PORT_http":    "23456",
		"NOMAD_PORT_db_port":      "5432",
		"NOMAD_HOST_PORT_db_port": "25000",
		"NOMAD_ADDR_db_port":      "10.0.0.5:25000",
		"BIND":                    "10.0.0.5:23456",
		"DC":                      "dc is dc1",
		"K":                       "linux-r1-${nope}",
	}
	got := e.Map()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("env[%s] = %q, want %q", k, got[k], v)
		}
	}
}

func TestReplaceConfig(t *testing.T) {
	e := Build(testInput())
	cfg := map[string]interface{}{
		"command": "/bin/sh",
		"args":    []interface{}{"-c", "echo ${NOMAD_TASK_NAME} ${node.unique.id}"},
		"nested":  map[string]interface{}{"x": "${env.NOMAD_JOB_ID}", "n": 3},
	}
	got := e.ReplaceConfig(cfg)
	want := map[string]interface{}{
		"command": "/bin/sh",
		"args":    []interface{}{"-c", "echo web node-1"},
		"nested":  map[string]interface{}{"x": "job1", "n": 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReplaceConfig() = %v, want %v", got, want)
	}
	if cfg["args"].([]interface{})[1] != "echo ${NOMAD_TASK_NAME} ${node.unique.id}" {
		t.Errorf("ReplaceConfig mutated its input")
	}
}

func TestBuildUpstreams(t *testing.T) {
	in := testInput()
	tg := in.Alloc.Job.TaskGroups[0]
	tg.Services = []*structs.Service{
		{Name: "plain", Provider: "nomad"},
		{Name: "front", Provider: "nomad", Connect: &structs.ConsulConnect{SidecarService: &structs.ConsulSidecarService{
			Proxy: &structs.ConsulProxy{Upstreams: []structs.ConsulUpstream{
				{DestinationName: "count-api", LocalBindPort: 8080},
				{DestinationName: "db", LocalBindPort: 5432, LocalBindAddress: "127.0.0.2"},
			}},
		}}},
	}
	in.Task.Env = map[string]string{"API": "http://${NOMAD_UPSTREAM_ADDR_count_api}", "DBPORT": "${NOMAD_UPSTREAM_PORT_count-api}"}
	got := Build(in).Map()
	want := map[string]string{
		"NOMAD_UPSTREAM_ADDR_count_api": "127.0.0.1:8080",
		"NOMAD_UPSTREAM_IP_count_api":   "127.0.0.1",
		"NOMAD_UPSTREAM_PORT_count_api": "8080",
		"NOMAD_UPSTREAM_ADDR_count-api": "127.0.0.1:8080",
		"NOMAD_UPSTREAM_ADDR_db":        "127.0.0.2:5432",
		"NOMAD_UPSTREAM_IP_db":          "127.0.0.2",
		"NOMAD_UPSTREAM_PORT_db":        "5432",
		"API":                           "http://127.0.0.1:8080",
		"DBPORT":                        "8080",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("env[%s] = %q, want %q", k, got[k], v)
		}
	}
}
