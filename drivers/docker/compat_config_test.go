package docker

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"

	"github.com/nomadish/nomadish/drivers"
)

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name            string
		allow, add, drp []string
		wantAdd         []string
		wantDrop        []string
		wantErr         error
	}{
		{name: "defaults drop NET_RAW", wantDrop: []string{"CAP_NET_RAW"}},
		{name: "cap_drop adds to the drops", drp: []string{"chown", "CAP_KILL"}, wantDrop: []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"}},
		{name: "cap_add of an allowed cap", add: []string{"cap_chown"}, wantAdd: []string{"CAP_CHOWN"}, wantDrop: []string{"CAP_NET_RAW"}},
		{name: "cap_add outside allow_caps", add: []string{"net_admin", "sys_time"}, wantErr: ErrCapNotAllowed},
		{name: "cap_add of NET_RAW needs allow_caps", add: []string{"net_raw"}, wantErr: ErrCapNotAllowed},
		{name: "allow_caps with NET_RAW keeps it", allow: append([]string{"net_raw"}, DefaultAllowCaps...)},
		{name: "allow_caps all lets anything be added", allow: []string{"all"}, add: []string{"net_admin"}, wantAdd: []string{"CAP_NET_ADMIN"}},
		{name: "narrow allow_caps drops the other defaults", allow: []string{"chown"}, wantDrop: []string{"CAP_AUDIT_WRITE", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"}},
		{name: "drop all then add back", add: []string{"chown", "kill"}, drp: []string{"all"}, wantAdd: []string{"CAP_CHOWN", "CAP_KILL"}, wantDrop: []string{"ALL"}},
		{name: "cap_add wins over cap_drop", add: []string{"chown"}, drp: []string{"chown"}, wantAdd: []string{"CAP_CHOWN"}, wantDrop: []string{"CAP_NET_RAW"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			add, drop, err := capabilities(tc.allow, tc.add, tc.drp)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("capabilities() error = %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(add, tc.wantAdd) || !reflect.DeepEqual(drop, tc.wantDrop) {
				t.Errorf("capabilities() = add %q drop %q, want add %q drop %q", add, drop, tc.wantAdd, tc.wantDrop)
			}
		})
	}
}

func TestCPUQuota(t *testing.T) {
	tests := []struct {
		name                  string
		shares, period        int64
		mhz                   float64
		wantPeriod, wantQuota int64
	}{
		{"half a core at the default period", 1000, 0, 2000, 100000, 50000},
		{"two cores", 4000, 50000, 2000, 50000, 100000},
		{"floor of 1ms", 1, 0, 3000, 100000, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, q := cpuQuota(tc.shares, tc.period, tc.mhz)
			if p != tc.wantPeriod || q != tc.wantQuota {
				t.Errorf("cpuQuota(%d, %d, %v) = %d, %d, want %d, %d", tc.shares, tc.period, tc.mhz, p, q, tc.wantPeriod, tc.wantQuota)
			}
		})
	}
}

func TestPidsLimitAndRuntimeGates(t *testing.T) {
	ten, five := int64(10), int64(5)
	tests := []struct {
		name    string
		plugin  int64
		task    int64
		want    *int64
		wantErr bool
	}{
		{"unset", 0, 0, nil, false},
		{"plugin default", 10, 0, &ten, false},
		{"task within the plugin's", 10, 5, &five, false},
		{"task above the plugin's", 5, 10, nil, true},
		{"task alone", 0, 10, &ten, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pidsLimit(Config{PidsLimit: tc.plugin}, &TaskConfig{PidsLimit: tc.task})
			if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pidsLimit(%d, %d) = %v, %v, want %v, error %v", tc.plugin, tc.task, got, err, tc.want, tc.wantErr)
			}
		})
	}
	if err := checkRuntime(Config{}, "runc"); err != nil {
		t.Errorf("checkRuntime(runc) = %v, want nil", err)
	}
	if err := checkRuntime(Config{}, "runsc"); !errors.Is(err, ErrRuntimeNotAllowed) {
		t.Errorf("checkRuntime(runsc) = %v, want %v", err, ErrRuntimeNotAllowed)
	}
	if err := checkRuntime(Config{AllowRuntimes: []string{"runsc"}}, "runsc"); err != nil {
		t.Errorf("checkRuntime(runsc) with allow_runtimes = %v, want nil", err)
	}
}

func TestDecodeTaskConfigOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"ulimit not a number", `{"ulimit":{"nofile":"many"}}`, "config.ulimit.nofile"},
		{"ulimit soft above hard", `{"ulimit":[{"nproc":"20:10"}]}`, "config.ulimit.nproc"},
		{"device without an absolute host path", `{"devices":[{"host_path":"dev/null"}]}`, "config.devices[0]: host_path"},
		{"device permissions", `{"devices":{"host_path":"/dev/null","cgroup_permissions":"rx"}}`, "config.devices[0]: cgroup_permissions"},
		{"dns server", `{"dns_servers":["8.8.8.8","resolver"]}`, "config.dns_servers[1]"},
		{"extra host", `{"extra_hosts":["db"]}`, "config.extra_hosts[0]"},
		{"extra host address", `{"extra_hosts":["db:nowhere"]}`, "config.extra_hosts[0]"},
		{"security option", `{"security_opt":["unconfined"]}`, "config.security_opt[0]"},
		{"ipv4 address", `{"ipv4_address":"::1"}`, "config.ipv4_address"},
		{"ipv6 address", `{"ipv6_address":"10.0.0.1"}`, "config.ipv6_address"},
		{"mac address", `{"mac_address":"02:42"}`, "config.mac_address"},
		{"port_map port", `{"port_map":[{"http":70000}]}`, "config.port_map.http"},
		{"load leaving the local dir", `{"load":"../../etc/shadow"}`, "config.load"},
		{"cpu_cfs_period", `{"cpu_cfs_period":5}`, "config.cpu_cfs_period"},
		{"oom_score_adj", `{"oom_score_adj":2000}`, "config.oom_score_adj"},
		{"pids_limit", `{"pids_limit":-1}`, "config.pids_limit"},
		{"shm_size", `{"shm_size":-1}`, "config.shm_size"},
		{"bind propagation", `{"mount":{"type":"bind","source":"local","target":"/l","bind_options":{"propagation":"sideways"}}}`, "config.mount[0].bind_options.propagation"},
		{"tmpfs size", `{"mounts":[{"type":"tmpfs","target":"/t","tmpfs_options":{"size":-5}}]}`, "config.mounts[0].tmpfs_options.size"},
		{"volume without source (the default type)", `{"mount":{"target":"/v"}}`, "config.mount[0].source is required for type \"volume\""},
		{"volumes option", `{"volumes":["local:/l:rx"]}`, "config.volumes[0]"},
		{"logging type and driver", `{"logging":{"type":"json-file","driver":"syslog"}}`, "config.logging"},
		{"unknown nested field", `{"mount":{"target":"/t","tmpfs_options":{"sise":1}}}`, "sise"},
		{"unknown field", `{"imgae":"x"}`, "imgae"},
		{"fraction for an integer", `{"shm_size":1.5}`, "config.shm_size: want an integer in range, got number 1.5"},
		{"fraction for a nested integer", `{"mount":[{"type":"tmpfs","target":"/t","tmpfs_options":{"size":1.5}}]}`, "config.mount.tmpfs_options.size: want an integer"},
		{"fraction in port_map", `{"port_map":{"http":80.5}}`, "config.port_map: want a map of integers, got number 80.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if !strings.Contains(raw, `"image"`) {
				raw = `{"image":"i",` + raw[1:]
			}
			_, err := DecodeTaskConfig([]byte(raw))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeTaskConfig(%s) = %v, want an error naming %s", raw, err, tc.want)
			}
		})
	}
}

// TestCreateOptions checks what each option asks of the Engine, without
// one.
func TestCreateOptions(t *testing.T) {
	dir := t.TempDir()
	cfg := &drivers.TaskConfig{ID: "a/web/1", AllocID: "a", Name: "web", AllocDir: dir, TaskDir: filepath.Join(dir, "web"),
		Env:       map[string]string{"NOMAD_PORT_http": "31000"},
		Resources: &drivers.Resources{CPUShares: 500, MemoryMB: 64},
		Ports:     []drivers.PortMapping{{Label: "http", Value: 31000}}}
	profile := filepath.Join(dir, "seccomp.json")
	if err := os.WriteFile(profile, []byte("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	raw := `{"image":"i","hostname":"h1","tty":true,"interactive":true,"init":true,"readonly_rootfs":true,
		"runtime":"runc","group_add":["1234"],"extra_hosts":["db:10.0.0.9"],"dns_servers":["10.0.0.53"],
		"dns_search_domains":["svc.local"],"dns_options":["ndots:2"],"ipc_mode":"host","pid_mode":"host","uts_mode":"host",
		"userns_mode":"host","oom_score_adj":-10,"shm_size":8388608,"storage_opt":{"size":"1G"},"sysctl":[{"net.core.somaxconn":"1234"}],
		"ulimit":{"nofile":"1024:2048","nproc":"64"},"devices":[{"host_path":"/dev/null","container_path":"/dev/nil"}],
		"security_opt":["no-new-privileges","seccomp=` + profile + `"],"pids_limit":50,"cpu_hard_limit":true,"cpu_cfs_period":50000,
		"logging":{"type":"json-file","config":[{"max-size":"1m"}]},"healthchecks":{"disable":true},"volume_driver":"local",
		"volumes":["data:/data:ro"],"port_map":[{"http":8080}],"network_mode":"appnet","network_aliases":["api"],
		"ipv4_address":"172.30.0.5","mac_address":"02:42:ac:1e:00:05",
		"mount":[{"type":"tmpfs","target":"/t","tmpfs_options":{"size":1048576,"mode":448}},
			{"type":"bind","source":"local","target":"/l","bind_options":{"propagation":"rslave"}}],
		"mounts":[{"type":"volume","source":"v","target":"/v","volume_options":{"no_copy":true,"labels":{"a":"b"},"driver_config":{"name":"local","options":[{"type":"tmpfs"}]}}}]}`
	tc, err := DecodeTaskConfig([]byte(raw))
	if err != nil {
		t.Fatalf("DecodeTaskConfig() = %v", err)
	}
	cc, hc, nc, err := (&Driver{}).createOptions(cfg, tc, Config{Volumes: Block[VolumesConfig]{V: VolumesConfig{Enabled: true}}, PidsLimit: 100})
	if err != nil {
		t.Fatalf("createOptions() = %v", err)
	}
	nofile := container.Ulimit{Name: "nofile", Soft: 1024, Hard: 2048}
	nproc := container.Ulimit{Name: "nproc", Soft: 64, Hard: 64}
	_, quota := cpuQuota(500, 50000, coreMHz())
	checks := []struct {
		name      string
		got, want interface{}
	}{
		{"hostname", cc.Hostname, "h1"},
		{"tty, interactive", [2]bool{cc.Tty, cc.OpenStdin}, [2]bool{true, true}},
		{"init", hc.Init != nil && *hc.Init, true},
		{"readonly_rootfs", hc.ReadonlyRootfs, true},
		{"runtime", hc.Runtime, "runc"},
		{"group_add", hc.GroupAdd, []string{"1234"}},
		{"extra_hosts", hc.ExtraHosts, []string{"db:10.0.0.9"}},
		{"dns_servers", hc.DNS, []netip.Addr{netip.MustParseAddr("10.0.0.53")}},
		{"dns_search_domains, dns_options", [2][]string{hc.DNSSearch, hc.DNSOptions}, [2][]string{{"svc.local"}, {"ndots:2"}}},
		{"ipc, pid, uts, userns modes", []string{string(hc.IpcMode), string(hc.PidMode), string(hc.UTSMode), string(hc.UsernsMode)}, []string{"host", "host", "host", "host"}},
		{"oom_score_adj", hc.OomScoreAdj, -10},
		{"shm_size", hc.ShmSize, int64(8 << 20)},
		{"storage_opt", hc.StorageOpt, map[string]string{"size": "1G"}},
		{"sysctl", hc.Sysctls, map[string]string{"net.core.somaxconn": "1234"}},
		{"ulimit", []container.Ulimit{*hc.Ulimits[0], *hc.Ulimits[1]}, []container.Ulimit{nofile, nproc}},
		{"devices", hc.Devices, []container.DeviceMapping{{PathOnHost: "/dev/null", PathInContainer: "/dev/nil", CgroupPermissions: "rwm"}}},
		{"security_opt with the seccomp file inlined", hc.SecurityOpt, []string{"no-new-privileges", `seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`}},
		{"pids_limit", *hc.PidsLimit, int64(50)},
		{"cpu_hard_limit", [2]int64{hc.CPUPeriod, hc.CPUQuota}, [2]int64{50000, quota}},
		{"logging", hc.LogConfig, container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m"}}},
		{"healthchecks", cc.Healthcheck.Test, []string{"NONE"}},
		{"volume_driver and a named volumes source", [2]interface{}{hc.VolumeDriver, hc.Binds[len(hc.Binds)-1]}, [2]interface{}{"local", "data:/data:ro"}},
		{"port_map sets the container port", func() bool { _, ok := cc.ExposedPorts[network.MustParsePort("8080/tcp")]; return ok }(), true},
		{"port_map sets NOMAD_PORT_", strings.Contains(strings.Join(cc.Env, " "), "NOMAD_PORT_http=8080"), true},
		{"network endpoint", [3]interface{}{nc.EndpointsConfig["appnet"].Aliases, nc.EndpointsConfig["appnet"].IPAMConfig.IPv4Address, nc.EndpointsConfig["appnet"].MacAddress.String()},
			[3]interface{}{[]string{"api"}, netip.MustParseAddr("172.30.0.5"), "02:42:ac:1e:00:05"}},
		{"mounts", hc.Mounts, []mount.Mount{
			{Type: mount.TypeTmpfs, Target: "/t", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1 << 20, Mode: 0o700}},
			{Type: mount.TypeBind, Source: filepath.Join(cfg.TaskDir, "local"), Target: "/l", BindOptions: &mount.BindOptions{Propagation: mount.PropagationRSlave}},
			{Type: mount.TypeVolume, Source: "v", Target: "/v", VolumeOptions: &mount.VolumeOptions{NoCopy: true, Labels: map[string]string{"a": "b"}, DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"type": "tmpfs"}}}},
		}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestRegistryAuth(t *testing.T) {
	got, err := registryAuth(Auth{Username: "u", Password: "p", ServerAddress: "registry.local"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.URLEncoding.DecodeString(got)
	if err != nil {
		t.Fatalf("registryAuth() = %q, not base64url: %v", got, err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || m["username"] != "u" || m["password"] != "p" || m["serveraddress"] != "registry.local" {
		t.Errorf("registryAuth() decodes to %s, %v, want username, password and serveraddress", b, err)
	}
	if got, _ := registryAuth(Auth{}); got != "" {
		t.Errorf("registryAuth(empty) = %q, want empty", got)
	}
}
