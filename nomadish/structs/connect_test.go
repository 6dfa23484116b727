package structs

import (
	"strings"
	"testing"
	"time"
)

func connectGroup(provider string, ups ...ConsulUpstream) *TaskGroup {
	return &TaskGroup{Name: "g", Services: []*Service{{Name: "s", Provider: provider, Connect: &ConsulConnect{
		SidecarService: &ConsulSidecarService{Proxy: &ConsulProxy{Upstreams: ups}}}}}}
}

func TestValidateConnectUpstreams(t *testing.T) {
	tests := []struct {
		name string
		tg   *TaskGroup
		want []string
	}{
		{"valid", connectGroup("nomad", ConsulUpstream{DestinationName: "api", LocalBindPort: 8080,
			Config: map[string]interface{}{"lb_policy": "least_conn", "connect_timeout_ms": 250, "drain_timeout": "5s"}}), nil},
		{"missing fields", connectGroup("nomad", ConsulUpstream{LocalBindPort: 70000, LocalBindAddress: "localhost"}),
			[]string{"destination_name is required", "local_bind_port 70000 must be between 1 and 65535", `local_bind_address "localhost" must be an IP address`}},
		{"bad config", connectGroup("nomad", ConsulUpstream{DestinationName: "api", LocalBindPort: 1,
			Config: map[string]interface{}{"lb_policy": "random"}}), []string{`config.lb_policy random must be "round_robin" or "least_conn"`}},
		{"bad timeout", connectGroup("nomadish", ConsulUpstream{DestinationName: "api", LocalBindPort: 1,
			Config: map[string]interface{}{"connect_timeout_ms": "soon"}}), []string{"config.connect_timeout_ms soon must be a positive number"}},
		{"same address twice", connectGroup("nomad", ConsulUpstream{DestinationName: "a", LocalBindPort: 80}, ConsulUpstream{DestinationName: "b", LocalBindPort: 80}),
			[]string{`local address 127.0.0.1:80 is already used by upstream "a"`}},
		{"consul provider is not checked", connectGroup("consul", ConsulUpstream{}), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &problems{}
			tc.tg.validateServices(p, "")
			if len(p.errs) != len(tc.want) {
				t.Fatalf("validateServices() = %v, want %d problems %q", p.errs, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(p.errs[i].Error(), w) {
					t.Errorf("problem %d = %q, want it to say %q", i, p.errs[i], w)
				}
			}
		})
	}
}

func TestConnectOnATaskService(t *testing.T) {
	tg := &TaskGroup{Name: "g", Tasks: []*Task{{Name: "t", Services: []*Service{{Name: "s", Provider: "nomad",
		Connect: &ConsulConnect{SidecarService: &ConsulSidecarService{}}}}}}}
	p := &problems{}
	tg.validateServices(p, "")
	if len(p.errs) != 1 || !strings.Contains(p.errs[0].Error(), "connect is only valid in a group's service") {
		t.Errorf("validateServices() = %v, want connect refused on a task's service", p.errs)
	}
}

func TestSidecarOfBuiltinServiceInjectsNoTask(t *testing.T) {
	if connectGroup("nomad").injectsTasks() {
		t.Error("a nomad provider sidecar_service injects a task, want none: the client serves it")
	}
	if !connectGroup("consul").injectsTasks() {
		t.Error("a consul sidecar_service injects no task, want Nomad's proxy task")
	}
}

func TestUpstreamOptionsDefaults(t *testing.T) {
	o, err := (&ConsulUpstream{Config: map[string]interface{}{"lb_policy": "least_request", "connect_timeout_ms": 1500.0}}).Options()
	if err != nil {
		t.Fatal(err)
	}
	want := UpstreamOptions{Policy: UpstreamPolicyLeastConn, ConnectTimeout: 1500 * time.Millisecond, DrainTimeout: DefaultUpstreamDrainTimeout}
	if o != want {
		t.Errorf("Options() = %+v, want %+v", o, want)
	}
}
