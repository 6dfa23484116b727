package docker_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/drivers/docker"
	"github.com/nomadish/nomadish/drivers/drivertest"
	"github.com/nomadish/nomadish/nomadish/jobvalidate"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// nomadOptions are the task config options of Nomad's docker driver.
var nomadOptions = []string{
	"advertise_ipv6_address", "args", "auth", "auth_soft_fail", "cap_add", "cap_drop", "command",
	"cpu_cfs_period", "cpu_hard_limit", "cpuset_cpus", "devices", "dns_options", "dns_search_domains",
	"dns_servers", "entrypoint", "extra_hosts", "force_pull", "group_add", "healthchecks", "hostname",
	"image", "image_pull_timeout", "init", "interactive", "ipc_mode", "ipv4_address", "ipv6_address",
	"isolation", "labels", "load", "logging", "mac_address", "memory_hard_limit", "mount", "mounts",
	"network_aliases", "network_mode", "oom_score_adj", "pid_mode", "pids_limit", "port_map", "ports",
	"privileged", "readonly_rootfs", "runtime", "security_opt", "shm_size", "storage_opt", "sysctl",
	"tty", "ulimit", "userns_mode", "uts_mode", "volume_driver", "volumes", "work_dir",
}

func TestSchemaHasEveryNomadOption(t *testing.T) {
	var got []string
	for _, f := range docker.TaskConfigSchema().Fields {
		got = append(got, f.Name)
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, nomadOptions) {
		t.Errorf("TaskConfigSchema() fields = %q, want Nomad's %q", got, nomadOptions)
	}
}

// everyOption is a config block of a job written for Nomad using every
// option, in the forms Nomad's documentation shows.
const everyOption = `image = "redis:7"
        command = "redis-server"
        args = ["--port", "6379"]
        entrypoint = ["/bin/sh", "-c"]
        work_dir = "/data"
        labels { team = "infra" }
        network_mode = "appnet"
        network_aliases = ["cache"]
        ipv4_address = "172.30.0.5"
        ipv6_address = "fd00::5"
        mac_address = "02:42:ac:1e:00:05"
        advertise_ipv6_address = true
        cap_add = ["net_bind_service"]
        cap_drop = ["all"]
        privileged = false
        force_pull = false
        image_pull_timeout = "10m"
        auth {
          username = "dockerhub_user"
          password = "dockerhub_password"
          email = "me@example.com"
          server_address = "registry.example.com"
        }
        auth_soft_fail = true
        load = "redis.tar"
        ports = ["db"]
        port_map { db = 6379 }
        volumes = ["local/data:/data", "/srv:/srv:ro,z"]
        volume_driver = "local"
        mount {
          type = "bind"
          source = "local"
          target = "/l"
          readonly = true
          bind_options { propagation = "rshared" }
        }
        mount {
          type = "volume"
          source = "v"
          target = "/v"
          volume_options {
            no_copy = true
            labels { a = "b" }
            driver_config {
              name = "local"
              options { type = "tmpfs" }
            }
          }
        }
        mount {
          type = "tmpfs"
          target = "/scratch"
          tmpfs_options {
            size = 100000
            mode = 448
          }
        }
        mounts = [{ type = "tmpfs", target = "/old" }]
        memory_hard_limit = 512
        cpu_hard_limit = true
        cpu_cfs_period = 50000
        cpuset_cpus = "0-1"
        pids_limit = 100
        oom_score_adj = 100
        shm_size = 67108864
        storage_opt = { size = "40G" }
        sysctl = { "net.core.somaxconn" = "16384" }
        ulimit {
          nproc = "4242"
          nofile = "2048:4096"
        }
        devices = [{ host_path = "/dev/sda1", container_path = "/dev/xvdc", cgroup_permissions = "r" }]
        group_add = ["video"]
        security_opt = ["no-new-privileges"]
        readonly_rootfs = true
        runtime = "runc"
        init = true
        tty = true
        interactive = true
        hostname = "cache-1"
        dns_servers = ["8.8.8.8"]
        dns_search_domains = ["service.consul"]
        dns_options = ["ndots:2"]
        extra_hosts = ["db:10.0.0.9"]
        ipc_mode = "host"
        pid_mode = "host"
        uts_mode = "host"
        userns_mode = "host"
        isolation = "hyperv"
        logging {
          type = "json-file"
          config { max-size = "10m" }
        }
        healthchecks { disable = true }`

// TestJobValidateEveryNomadOption checks that a job file using every
// option of Nomad's docker driver passes job validate, decodes, and warns
// only of the options nomadish does not act on.
func TestJobValidateEveryNomadOption(t *testing.T) {
	job := parseJob(t, everyOption)
	if err := jobvalidate.TaskConfigs(job, nil); err != nil {
		t.Fatalf("TaskConfigs() = %v, want nil", err)
	}
	raw, err := json.Marshal(job.TaskGroups[0].Tasks[0].Config)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := docker.DecodeTaskConfig(raw)
	if err != nil {
		t.Fatalf("DecodeTaskConfig(%s) = %v", raw, err)
	}
	checks := []struct {
		name      string
		got, want interface{}
	}{
		{"labels", tc.Labels, docker.StringMap{"team": "infra"}},
		{"port_map", tc.PortMap, docker.NumberMap{"db": 6379}},
		{"sysctl", tc.Sysctl, docker.StringMap{"net.core.somaxconn": "16384"}},
		{"ulimit", tc.Ulimit, docker.StringMap{"nproc": "4242", "nofile": "2048:4096"}},
		{"storage_opt", tc.StorageOpt, docker.StringMap{"size": "40G"}},
		{"auth", tc.Auth.V, docker.Auth{Username: "dockerhub_user", Password: "dockerhub_password", Email: "me@example.com", ServerAddress: "registry.example.com"}},
		{"devices", []docker.Device(tc.Devices), []docker.Device{{HostPath: "/dev/sda1", ContainerPath: "/dev/xvdc", CgroupPermissions: "r"}}},
		{"bind_options", tc.Mounts[0].BindOptions.V.Propagation, "rshared"},
		{"volume_options", [3]interface{}{tc.Mounts[1].VolumeOptions.V.NoCopy, tc.Mounts[1].VolumeOptions.V.DriverConfig.V.Name, tc.Mounts[1].VolumeOptions.V.DriverConfig.V.Options["type"]}, [3]interface{}{true, "local", "tmpfs"}},
		{"tmpfs_options", tc.Mounts[2].TmpfsOptions.V, docker.TmpfsOptions{Size: 100000, Mode: 448}},
		{"mounts", len(tc.MountsList), 1},
		{"logging", [2]interface{}{tc.Logging.V.Type, tc.Logging.V.Config["max-size"]}, [2]interface{}{"json-file", "10m"}},
		{"healthchecks", tc.Healthchecks.V.Disable, true},
		{"numbers", []int64{tc.MemoryHardLimit, tc.CPUCFSPeriod, tc.PidsLimit, int64(tc.OOMScoreAdj), tc.ShmSize}, []int64{512, 50000, 100, 100, 67108864}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("DecodeTaskConfig() %s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	var warned []string
	for _, w := range jobvalidate.Unsupported(job) {
		warned = append(warned, w[strings.Index(w, "config."):strings.Index(w, " (")])
	}
	want := []string{"config.advertise_ipv6_address", "config.cpuset_cpus", "config.isolation"}
	if !reflect.DeepEqual(warned, want) {
		t.Errorf("Unsupported() names %q, want %q", warned, want)
	}
}

// TestJobValidateRejectsWrongTypes sets each option, nested ones too, to
// a value of the wrong type and checks job validate names its path.
func TestJobValidateRejectsWrongTypes(t *testing.T) {
	n := 0
	for _, c := range drivertest.WrongTypes(docker.TaskConfigSchema().Fields) {
		t.Run(c.Path, func(t *testing.T) {
			config := c.Config
			if _, ok := config["image"]; !ok {
				config["image"] = "i"
			}
			job := &structs.Job{ID: "j", TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: []*structs.Task{{Name: "t", Driver: "docker", Config: config}}}}}
			err := jobvalidate.TaskConfigs(job, nil)
			want := fmt.Sprintf(`group "g" -> task "t": %s: want `, c.Path)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("TaskConfigs(%v) = %v, want an error starting %q", config, err, want)
			}
		})
		n++
	}
	if n < 70 {
		t.Errorf("checked %d fields, want every field of the schema", n)
	}
}

// TestJobValidateRejectsUnknownFields checks that fields Nomad does not
// have are still errors, at any depth.
func TestJobValidateRejectsUnknownFields(t *testing.T) {
	tests := []struct{ hcl, want string }{
		{`image = "i"
        imgae = "i"`, "config.imgae: unknown field"},
		{`image = "i"
        auth { token = "t" }`, "config.auth.token: unknown field"},
		{`image = "i"
        mount {
          target = "/t"
          tmpfs_options { sise = 1 }
        }`, "config.mount[0].tmpfs_options.sise: unknown field"},
		{`image = "i"
        healthchecks { interval = "5s" }`, "config.healthchecks.interval: unknown field"},
		{`image = "i"
        devices = [{ host_path = "/dev/null", path = "/dev/x" }]`, "config.devices[0].path: unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			err := jobvalidate.TaskConfigs(parseJob(t, tc.hcl), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("TaskConfigs() = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
