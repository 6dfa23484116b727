package jobspec

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestParseConnectUpstreams(t *testing.T) {
	job := mustParse(t, `
job "front" {
  group "front" {
    service {
      name     = "front"
      provider = "nomad"
      connect {
        sidecar_service {
          tags = ["side"]
          proxy {
            local_service_port = 8080
            upstreams {
              destination_name   = "api"
              local_bind_port    = 9000
              local_bind_address = "127.0.0.2"
              datacenter         = "dc2"
              mesh_gateway {
                mode = "local"
              }
              config {
                lb_policy          = "least_conn"
                connect_timeout_ms = 500
              }
            }
            upstreams {
              destination_name = "db"
              local_bind_port  = 5432
            }
            expose {
              path {
                path            = "/health"
                local_path_port = 9001
                listener_port   = "health"
              }
            }
          }
        }
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`, nil)
	c := job.TaskGroups[0].Services[0].Connect
	if c == nil || c.SidecarService == nil || c.SidecarService.Proxy == nil {
		t.Fatalf("Connect = %+v, want a sidecar_service with a proxy", c)
	}
	if got := c.SidecarService.Tags; !reflect.DeepEqual(got, []string{"side"}) {
		t.Errorf("sidecar_service tags = %v, want [side]", got)
	}
	p := c.SidecarService.Proxy
	if p.LocalServicePort != 8080 || p.Expose == nil {
		t.Errorf("proxy = %+v, want local_service_port 8080 and expose kept", p)
	}
	want := []structs.ConsulUpstream{
		{DestinationName: "api", LocalBindPort: 9000, LocalBindAddress: "127.0.0.2", Datacenter: "dc2",
			MeshGateway: &structs.ConsulMeshGateway{Mode: "local"},
			Config:      map[string]interface{}{"lb_policy": "least_conn", "connect_timeout_ms": 500}},
		{DestinationName: "db", LocalBindPort: 5432},
	}
	if !reflect.DeepEqual(p.Upstreams, want) {
		t.Errorf("upstreams = %+v, want %+v", p.Upstreams, want)
	}
	if err := job.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

func TestParseConnectUpstreamUnknownField(t *testing.T) {
	_, err := parseSrc(t, `
job "front" {
  group "front" {
    service {
      name     = "front"
      provider = "nomad"
      connect {
        sidecar_service {
          proxy {
            upstreams {
              destination_name = "api"
              local_bind_prot  = 9000
            }
          }
        }
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`, nil)
	if err == nil || !strings.Contains(err.Error(), "local_bind_prot") || !strings.Contains(err.Error(), "job.hcl:12") {
		t.Fatalf("Parse() error = %v, want one naming local_bind_prot at job.hcl:12", err)
	}
}
