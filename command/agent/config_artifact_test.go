package agent

import (
	"strings"
	"testing"
)

func TestLoadConfigFile_ClientArtifact(t *testing.T) {
	p := writeFile(t, "agent.hcl", `
client {
  enabled = true
  artifact {
    disable_filesystem_isolation = true
    http_read_timeout            = "30m"
  }
}
`)
	fc, err := LoadConfigFile(p)
	if err != nil {
		t.Fatalf("LoadConfigFile() error = %v", err)
	}
	c := DevConfig().Merge(fc)
	if !c.Client.Artifact.hostFiles() {
		t.Fatalf("merged client artifact = %+v, want disable_filesystem_isolation", c.Client.Artifact)
	}
	if _, ok := c.Unused["client.artifact.http_read_timeout"]; !ok || len(c.Unused) != 1 {
		t.Errorf("Unused = %v, want client.artifact.http_read_timeout noted", c.Unused)
	}
	if DevConfig().Client.Artifact.hostFiles() {
		t.Errorf("file artifact sources may read host paths by default")
	}
}

func TestLoadConfigFile_EventBufferSize(t *testing.T) {
	p := writeFile(t, "agent.hcl", `
server {
  enabled           = true
  event_buffer_size = 250
}
`)
	fc, err := LoadConfigFile(p)
	if err != nil {
		t.Fatalf("LoadConfigFile() error = %v", err)
	}
	c := DevConfig().Merge(fc)
	if n := c.Server.EventBufferSize; n == nil || *n != 250 {
		t.Fatalf("event_buffer_size = %v, want 250", n)
	}
	zero := 0
	c.Server.EventBufferSize = &zero
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "server.event_buffer_size") {
		t.Errorf("Validate() with event_buffer_size 0 = %v, want an error naming it", err)
	}
}
