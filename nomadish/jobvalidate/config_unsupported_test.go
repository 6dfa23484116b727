package jobvalidate

import (
	"reflect"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestUnsupportedConfigOptions(t *testing.T) {
	tests := []struct {
		name   string
		driver string
		config map[string]interface{}
		want   []string
	}{
		{"acted-on options only", "docker", map[string]interface{}{"image": "i", "hostname": "h"}, nil},
		{"options at their zero value", "docker", map[string]interface{}{"image": "i", "cpuset_cpus": "", "advertise_ipv6_address": false}, nil},
		{"docker options not acted on", "docker", map[string]interface{}{"image": "i", "cpuset_cpus": "0-1", "isolation": "hyperv"}, []string{
			`group "g" -> task "t": config.cpuset_cpus (it is ignored, as by Nomad since 0.12; use resources { cores }) is not supported by nomadish`,
			`group "g" -> task "t": config.isolation (it selects Windows container isolation; Linux containers ignore it) is not supported by nomadish`,
		}},
		{"containerd block not acted on", "containerd", map[string]interface{}{"image": "i", "auth": []interface{}{map[string]interface{}{"username": "u"}}}, []string{
			`group "g" -> task "t": config.auth (images come from the namespace, image_archive or an anonymous pull) is not supported by nomadish`,
		}},
		{"driver that is not built in", "ext", map[string]interface{}{"cpuset_cpus": "0"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			job := &structs.Job{ID: "j", TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: []*structs.Task{{Name: "t", Driver: tc.driver, Config: tc.config}}}}}
			if got := Unsupported(job); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Unsupported() = %q, want %q", got, tc.want)
			}
		})
	}
}
