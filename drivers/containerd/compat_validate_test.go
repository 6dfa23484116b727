package containerd_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/drivers/containerd"
	"github.com/nomadish/nomadish/drivers/drivertest"
	"github.com/nomadish/nomadish/nomadish/jobvalidate"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// communityOptions are the task config options of the community
// nomad-driver-containerd, plus image_archive, a nomadish addition.
var communityOptions = []string{
	"annotations", "args", "auth", "cap_add", "cap_drop", "command", "cwd", "devices", "entrypoint",
	"extra_hosts", "file_limit", "host_dns", "host_network", "hostname", "image", "image_archive",
	"image_pull_timeout", "labels", "memory_swap", "memory_swappiness", "mounts", "pid_mode",
	"pids_limit", "privileged", "readonly_rootfs", "runtime", "seccomp", "seccomp_profile", "shm_size",
	"sysctl",
}

func TestSchemaHasEveryCommunityOption(t *testing.T) {
	var got []string
	for _, f := range containerd.TaskConfigSchema().Fields {
		got = append(got, f.Name)
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, communityOptions) {
		t.Errorf("TaskConfigSchema() fields = %q, want %q", got, communityOptions)
	}
}

// TestJobValidateEveryCommunityOption checks that a job file written for
// the community driver passes job validate, decodes, and warns only of
// the options nomadish does not act on.
func TestJobValidateEveryCommunityOption(t *testing.T) {
	job := parseJob(t, `image = "docker.io/library/redis:alpine"
        image_pull_timeout = "10m"
        command = "redis-server"
        args = ["--port", "6379"]
        entrypoint = ["/usr/local/bin/docker-entrypoint.sh"]
        cwd = "/data"
        privileged = true
        pids_limit = 100
        pid_mode = "host"
        file_limit = 2048
        hostname = "cache-1"
        host_dns = false
        seccomp = true
        seccomp_profile = "/opt/seccomp/seccomp.json"
        shm_size = "128M"
        sysctl = {
          "net.core.somaxconn" = "16384"
        }
        readonly_rootfs = true
        host_network = true
        extra_hosts = ["db:10.0.0.9"]
        cap_add = ["CAP_SYS_ADMIN"]
        cap_drop = ["CAP_CHOWN"]
        devices = ["/dev/fuse"]
        labels { team = "infra" }
        annotations { note = "hi" }
        runtime = "io.containerd.runsc.v1"
        memory_swap = "2048m"
        memory_swappiness = 90
        auth {
          username = "user"
          password = "pass"
        }
        mounts = [
          { type = "bind", target = "/t1", source = "local", options = ["rbind", "ro"] },
        ]`)
	if err := jobvalidate.TaskConfigs(job, nil); err != nil {
		t.Fatalf("TaskConfigs() = %v, want nil", err)
	}
	raw, err := json.Marshal(job.TaskGroups[0].Tasks[0].Config)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := containerd.DecodeTaskConfig(raw)
	if err != nil {
		t.Fatalf("DecodeTaskConfig(%s) = %v", raw, err)
	}
	if tc.HostDNS == nil || *tc.HostDNS || tc.Sysctl["net.core.somaxconn"] != "16384" || tc.Labels["team"] != "infra" ||
		tc.Annotations["note"] != "hi" || tc.FileLimit != 2048 || tc.ShmSize != "128M" || tc.Auth.V.Username != "user" {
		t.Errorf("DecodeTaskConfig(%s) = %+v, want the options of the job file", raw, tc)
	}
	var warned []string
	for _, w := range jobvalidate.Unsupported(job) {
		warned = append(warned, w[strings.Index(w, "config."):strings.Index(w, " (")])
	}
	want := []string{"config.auth", "config.memory_swap", "config.memory_swappiness", "config.runtime"}
	if !reflect.DeepEqual(warned, want) {
		t.Errorf("Unsupported() names %q, want %q", warned, want)
	}
}

// TestJobValidateRejectsWrongTypes sets each option, nested ones too, to
// a value of the wrong type and checks job validate names its path.
func TestJobValidateRejectsWrongTypes(t *testing.T) {
	cases := drivertest.WrongTypes(containerd.TaskConfigSchema().Fields)
	if len(cases) < 34 {
		t.Fatalf("WrongTypes() = %d cases, want one per field", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Path, func(t *testing.T) {
			config := c.Config
			if _, ok := config["image"]; !ok {
				config["image"] = "i"
			}
			job := &structs.Job{ID: "j", TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: []*structs.Task{{Name: "t", Driver: "containerd", Config: config}}}}}
			err := jobvalidate.TaskConfigs(job, nil)
			want := fmt.Sprintf(`group "g" -> task "t": %s: want `, c.Path)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("TaskConfigs(%v) = %v, want an error starting %q", config, err, want)
			}
		})
	}
}

// TestDecodeTaskConfigOptionErrors checks the values a type check cannot
// catch, each named by its field when the task starts.
func TestDecodeTaskConfigOptionErrors(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`{"image":"i","pid_mode":"container:x"}`, "config.pid_mode"},
		{`{"image":"i","shm_size":"lots"}`, "config.shm_size"},
		{`{"image":"i","extra_hosts":["db"]}`, "config.extra_hosts[0]"},
		{`{"image":"i","extra_hosts":["db:nowhere"]}`, "config.extra_hosts[0]"},
		{`{"image":"i","devices":["dev/fuse"]}`, "config.devices[0]"},
		{`{"image":"i","seccomp_profile":"/p.json"}`, "config.seccomp_profile needs seccomp = true"},
		{`{"image":"i","image_pull_timeout":"soon"}`, "config.image_pull_timeout"},
		{`{"image":"i","pids_limit":-1}`, "config.pids_limit"},
		{`{"image":"i","file_limit":-1}`, "config.file_limit"},
		{`{"image":"i","sysctl":{"bad key":"1"}}`, "config.sysctl"},
		{`{"image":"i","auth":{"token":"t"}}`, "token"},
		{`{"image":"i","imgae":"i"}`, "imgae"},
		{`{"image":"i","pids_limit":2.5}`, "config.pids_limit: want an integer in range, got number 2.5"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			_, err := containerd.DecodeTaskConfig([]byte(tc.raw))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeTaskConfig(%s) = %v, want an error naming %s", tc.raw, err, tc.want)
			}
		})
	}
}
