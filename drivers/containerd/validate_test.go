package containerd_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/drivers/containerd"
	"github.com/nomadish/nomadish/nomadish/jobspec"
	"github.com/nomadish/nomadish/nomadish/jobvalidate"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func parseJob(t *testing.T, config string) *structs.Job {
	t.Helper()
	src := fmt.Sprintf(`job "j" {
  group "g" {
    task "t" {
      driver = "containerd"
      config {
%s
      }
    }
  }
}
`, config)
	job, err := jobspec.Parse(&jobspec.ParseConfig{Path: "job.nomad.hcl", Body: []byte(src)})
	if err != nil {
		t.Fatalf("jobspec.Parse() = %v", err)
	}
	return job
}

// TestJobValidateEveryOption checks that a config block using every option
// passes job validate and decodes to the same values.
func TestJobValidateEveryOption(t *testing.T) {
	job := parseJob(t, `image = "busybox:1"
        image_archive = "local/busybox.tar"
        entrypoint = ["/bin/sh", "-c"]
        command = "echo"
        args = ["hi"]
        cwd = "/tmp"
        cap_add = ["net_admin"]
        cap_drop = ["chown"]
        mounts = [
          { type = "bind", source = "local", target = "/l", options = ["rbind", "ro"] },
          { type = "tmpfs", source = "tmpfs", target = "/scratch", options = ["size=1m"] },
        ]`)
	if err := jobvalidate.TaskConfigs(job, nil); err != nil {
		t.Fatalf("TaskConfigs() = %v, want nil", err)
	}
	raw, err := json.Marshal(job.TaskGroups[0].Tasks[0].Config)
	if err != nil {
		t.Fatal(err)
	}
	got, err := containerd.DecodeTaskConfig(raw)
	if err != nil {
		t.Fatalf("DecodeTaskConfig(%s) = %v", raw, err)
	}
	want := []containerd.Mount{
		{Type: "bind", Source: "local", Target: "/l", Options: []string{"rbind", "ro"}},
		{Type: "tmpfs", Source: "tmpfs", Target: "/scratch", Options: []string{"size=1m"}},
	}
	if !reflect.DeepEqual(got.Mounts, want) || got.ImageArchive != "local/busybox.tar" || !reflect.DeepEqual(got.Entrypoint, []string{"/bin/sh", "-c"}) {
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
		{"misspelled mount field", `image = "i"
        mounts = [{ target = "/l", sorce = "local" }]`, "config.mounts[0].sorce: unknown field"},
		{"mount without target", `image = "i"
        mounts = [{ source = "local" }]`, "config.mounts[0].target: required field is missing"},
		{"entrypoint not a list", `image = "i"
        entrypoint = "/bin/sh"`, "config.entrypoint: want list"},
		{"image_archive not a string", `image = "i"
        image_archive = ["a"]`, "config.image_archive: want string"},
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

func TestDecodeTaskConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []string
	}{
		{"relative target", `{"image":"i","mounts":[{"source":"local","target":"l"}]}`, []string{"config.mounts[0].target"}},
		{"bind without source", `{"image":"i","mounts":[{"target":"/l"}]}`, []string{"config.mounts[0].source"}},
		{"every problem at once", `{"mounts":[{"target":"l"}]}`, []string{"config.image", "config.mounts[0].target", "config.mounts[0].source"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := containerd.DecodeTaskConfig([]byte(tc.raw))
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("DecodeTaskConfig(%s) = %v, want it to name %s", tc.raw, err, w)
				}
			}
		})
	}
}

func TestDecodeConfigVolumesBlock(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want bool
	}{
		{"object", `{"volumes":{"enabled":true}}`, true},
		{"agent file list", `{"volumes":[{"enabled":true}]}`, true},
		{"absent", `{}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := containerd.DecodeConfig([]byte(tc.raw))
			if err != nil || c.Volumes.V.Enabled != tc.want {
				t.Errorf("DecodeConfig(%s) = %+v, %v, want volumes.enabled %v", tc.raw, c, err, tc.want)
			}
		})
	}
}
