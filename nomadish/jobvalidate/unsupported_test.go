package jobvalidate

import (
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestUnsupported(t *testing.T) {
	cases := []struct {
		name string
		job  *structs.Job
		want []string
	}{
		{"plain job", &structs.Job{ID: "a", TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: []*structs.Task{{Name: "t"}}}}}, nil},
		{"vault", &structs.Job{ID: "a", TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: []*structs.Task{{Name: "t", Vault: &structs.Vault{}}}}}},
			[]string{`group "g" -> task "t": vault`}},
		{"connect and consul", &structs.Job{ID: "a", TaskGroups: []*structs.TaskGroup{{Name: "g",
			Services: []*structs.Service{{Name: "s", Connect: &structs.ConsulConnect{}}, {Name: "c", Provider: "consul"}, {Name: "n", Provider: "nomad"}}}}},
			[]string{`group "g" -> service "s": consul connect`, `group "g" -> service "c": provider "consul"`}},
		{"connect of a nomad service", &structs.Job{ID: "a", TaskGroups: []*structs.TaskGroup{{Name: "g",
			Services: []*structs.Service{{Name: "up", Provider: "nomad", Connect: &structs.ConsulConnect{SidecarService: &structs.ConsulSidecarService{
				Proxy: &structs.ConsulProxy{Upstreams: []structs.ConsulUpstream{{DestinationName: "db", LocalBindPort: 5432}}}}}},
				{Name: "gw", Provider: "nomad", Connect: &structs.ConsulConnect{Gateway: map[string]interface{}{}}}}}}},
			[]string{`group "g" -> service "gw": a connect gateway`}},
		{"csi", &structs.Job{ID: "a", TaskGroups: []*structs.TaskGroup{{Name: "g", Volumes: map[string]*structs.VolumeRequest{"v": {Type: "csi"}, "h": {Type: "host"}}}}},
			[]string{`group "g" -> volume "v": a CSI volume`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Unsupported(tc.job)
			if len(got) != len(tc.want) {
				t.Fatalf("Unsupported() = %q, want %d warnings like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) || !strings.Contains(got[i], "not supported by nomadish") {
					t.Errorf("Unsupported()[%d] = %q, want it to start with %q and say not supported", i, got[i], w)
				}
			}
		})
	}
}
