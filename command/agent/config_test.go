package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigFile_MergedOverDev(t *testing.T) {
	p := writeFile(t, "agent.hcl", `
name       = "n1"
data_dir   = "/var/lib/nomadish"
bind_addr  = "127.0.0.2"
datacenter = "dc7"
region     = "eu"
ports {
  http = 5646
  rpc  = 5647
  serf = 5648
}
advertise {
  rpc = "10.0.0.1:5647"
}
server {
  enabled          = true
  bootstrap_expect = 3
  server_join {
    retry_join = ["a:4648", "b"]
  }
}
client {
  enabled           = true
  servers           = ["127.0.0.1:4647"]
  memory_total_mb   = 2048
  cpu_total_compute = 4000
  meta {
    rack = "r1"
  }
  reserved {
    cpu    = 100
    memory = 256
  }
}
plugin "raw_exec" {
  config {
    enabled = false
  }
}
plugin "docker" {
  config {
    volumes {
      enabled = true
    }
  }
}
telemetry {
  collection_interval = "1s"
}
`)
	fc, err := LoadConfigFile(p)
	if err != nil {
		t.Fatalf("LoadConfigFile() error = %v", err)
	}
	c := DevConfig().Merge(fc)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	checks := []struct {
		name      string
		got, want interface{}
	}{
		{"name", c.Name, "n1"},
		{"bind", c.BindAddr, "127.0.0.2"},
		{"dc", c.Datacenter, "dc7"},
		{"region", c.Region, "eu"},
		{"ports", *c.Ports, Ports{HTTP: 5646, RPC: 5647, Serf: 5648}},
		{"advertise rpc", c.Advertise.RPC, "10.0.0.1:5647"},
		{"server", c.ServerEnabled(), true},
		{"expect", c.Server.BootstrapExpect, 3},
		{"retry_join", c.Server.ServerJoin.RetryJoin, []string{"a:4648", "b"}},
		{"client", c.ClientEnabled(), true},
		{"servers", c.Client.Servers, []string{"127.0.0.1:4647"}},
		{"memory", c.Client.MemoryTotalMB, 2048},
		{"meta", c.Client.Meta, map[string]string{"rack": "r1"}},
		{"reserved", *c.Client.Reserved, Reserved{CPU: 100, Memory: 256}},
		{"raw_exec", c.PluginConfigFor("raw_exec"), map[string]interface{}{"enabled": false}},
		{"docker", c.PluginConfigFor("docker"), map[string]interface{}{"volumes": map[string]interface{}{"enabled": true}}},
		{"dev", c.DevMode, true},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
	if _, ok := c.Unused["telemetry"]; !ok || len(c.Unused) != 1 {
		t.Errorf("Unused = %v, want only telemetry", c.Unused)
	}
}

func TestLoadConfigFile_Errors(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"syntax", "ports {\n  http = \n}\n", "agent.hcl:2"},
		{"wrong type", "ports {\n  http = \"x\"\n}\n", "agent.hcl:2"},
		{"one-line nested block", "plugin \"raw_exec\" { config { enabled = true } }\n", "agent.hcl:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfigFile(writeFile(t, "agent.hcl", tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadConfigFile() error = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err == nil {
		t.Errorf("Validate() of a config with neither server nor client = nil, want an error")
	}
	c = DevConfig()
	c.Server.Encrypt = "not base64!"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "encrypt") {
		t.Errorf("Validate() with a bad key = %v, want an encrypt error", err)
	}
}
