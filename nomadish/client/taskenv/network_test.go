package taskenv

import (
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestBuildAllocNetwork checks the port variables of a bridge-mode
// allocation: host values stay the node's, NOMAD_ALLOC_* name the
// allocation's own address and the port inside it.
func TestBuildAllocNetwork(t *testing.T) {
	in := testInput()
	in.AllocNetwork = &structs.AllocNetworkStatus{InterfaceName: "eth0", Address: "172.26.64.7"}
	env := Build(in).Map()
	want := map[string]string{
		"NOMAD_IP_http":              "10.0.0.5",
		"NOMAD_HOST_PORT_http":       "23456",
		"NOMAD_ALLOC_PORT_http":      "23456",
		"NOMAD_ALLOC_IP_http":        "172.26.64.7",
		"NOMAD_ALLOC_ADDR_http":      "172.26.64.7:23456",
		"NOMAD_ALLOC_INTERFACE_http": "eth0",
		"NOMAD_PORT_db_port":         "5432",
		"NOMAD_HOST_PORT_db_port":    "25000",
		"NOMAD_ALLOC_PORT_db_port":   "5432",
		"NOMAD_ALLOC_IP_db_port":     "172.26.64.7",
		"NOMAD_ALLOC_ADDR_db_port":   "172.26.64.7:5432",
		"NOMAD_ADDR_db_port":         "10.0.0.5:25000",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}

	// Host mode: no allocation address.
	env = Build(testInput()).Map()
	for _, k := range []string{"NOMAD_ALLOC_IP_http", "NOMAD_ALLOC_ADDR_http", "NOMAD_ALLOC_INTERFACE_http"} {
		if v, ok := env[k]; ok {
			t.Errorf("host mode: %s = %q, want unset", k, v)
		}
	}
	if env["NOMAD_ALLOC_PORT_http"] != "23456" {
		t.Errorf("host mode: NOMAD_ALLOC_PORT_http = %q, want the host port as Nomad sets it", env["NOMAD_ALLOC_PORT_http"])
	}
}
