package docker_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/drivers/docker"
	"github.com/nomadish/nomadish/nomadish/jobspec"
	"github.com/nomadish/nomadish/nomadish/jobvalidate"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func jobWithConfig(config string) string {
	return fmt.Sprintf(`job "j" {
  group "g" {
    task "t" {
      driver = "docker"
      config {
%s
      }
    }
  }
}
`, config)
}

func parseJob(t *testing.T, config string) *structs.Job {
	t.Helper()
	job, err := jobspec.Parse(&jobspec.ParseConfig{Path: "job.nomad.hcl", Body: []byte(jobWithConfig(config))})
	if err != nil {
		t.Fatalf("jobspec.Parse() = %v", err)
	}
	return job
}

// TestJobValidateEveryOption checks that a config block using every option
// passes job validate and decodes to the same values.
func TestJobValidateEveryOption(t *testing.T) {
	job := parseJob(t, `image = "busybox:1"
        command = "/bin/sh"
        args = ["-c", "true"]
        entrypoint = ["/bin/sh"]
        work_dir = "/tmp"
        labels = { team = "infra" }
        network_mode = "host"
        privileged = true
        force_pull = false
        image_pull_timeout = "10m"
        ports = ["http"]
        volumes = ["local/data:/data", "/srv:/srv:ro"]
        memory_hard_limit = 512
        mount {
          type = "bind"
          source = "local"
          target = "/l"
          readonly = true
        }
        mount {
          type = "tmpfs"
          target = "/scratch"
        }`)
	if err := jobvalidate.TaskConfigs(job, nil); err != nil {
		t.Fatalf("TaskConfigs() = %v, want nil", err)
	}
	raw, err := json.Marshal(job.TaskGroups[0].Tasks[0].Config)
	if err != nil {
		t.Fatal(err)
	}
	got, err := docker.DecodeTaskConfig(raw)
	if err != nil {
		t.Fatalf("DecodeTaskConfig(%s) = %v", raw, err)
	}
	want := docker.BlockList[docker.Mount]{{Type: "bind", Source: "local", Target: "/l", Readonly: true}, {Type: "tmpfs", Target: "/scratch"}}
	if !reflect.DeepEqual(got.Mounts, want) || got.MemoryHardLimit != 512 || got.Labels["team"] != "infra" || got.ImagePullTimeout != "10m" {
		t.Errorf("DecodeTaskConfig(%s) = %+v, want the options of the job file", raw, got)
	}
}

// TestJobValidateMistakes checks that mistakes name their field.
func TestJobValidateMistakes(t *testing.T) {
	tests := []struct {
		name string
		hcl  string
		want string
	}{
		{"memory_hard_limit not a number", `image = "i"
        memory_hard_limit = "big"`, "config.memory_hard_limit: want number"},
		{"volumes not a list", `image = "i"
        volumes = "/a:/b"`, "config.volumes: want list"},
		{"misspelled mount field", `image = "i"
        mount {
          target = "/l"
          sorce = "local"
        }`, "config.mount[0].sorce: unknown field"},
		{"mount without target", `image = "i"
        mount {
          source = "local"
        }`, "config.mount[0].target: required field is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := jobvalidate.TaskConfigs(parseJob(t, tc.hcl), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("TaskConfigs() = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
