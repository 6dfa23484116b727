package docker

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/drivers"
)

func TestDecodeTaskConfigLabels(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want StringMap
	}{
		{"map", `{"image":"i","labels":{"a":"b"}}`, StringMap{"a": "b"}},
		{"job file list", `{"image":"i","labels":[{"a":"b"},{"c":"d"}]}`, StringMap{"a": "b", "c": "d"}},
		{"absent", `{"image":"i"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeTaskConfig([]byte(tc.raw))
			if err != nil {
				t.Fatalf("DecodeTaskConfig(%s) = %v", tc.raw, err)
			}
			if !reflect.DeepEqual(got.Labels, tc.want) {
				t.Errorf("DecodeTaskConfig(%s).Labels = %v, want %v", tc.raw, got.Labels, tc.want)
			}
		})
	}
}

func TestContainerConfigGates(t *testing.T) {
	cfg := &drivers.TaskConfig{ID: "a/web/1", AllocID: "a", Name: "web", AllocDir: t.TempDir(), Resources: &drivers.Resources{CPUShares: 100, MemoryMB: 64}}
	cfg.TaskDir = filepath.Join(cfg.AllocDir, "web")
	tests := []struct {
		name    string
		tc      TaskConfig
		pc      Config
		wantErr error
		want    bool
	}{
		{"privileged allowed", TaskConfig{Image: "i", Privileged: true}, Config{AllowPrivileged: true}, nil, true},
		{"privileged refused", TaskConfig{Image: "i", Privileged: true}, Config{}, ErrPrivilegedDisabled, false},
		{"unprivileged", TaskConfig{Image: "i"}, Config{AllowPrivileged: true}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, hc, err := (&Driver{}).containerConfig(cfg, &tc.tc, tc.pc)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("containerConfig() error = %v, want %v", err, tc.wantErr)
			}
			if got := hc != nil && hc.Privileged; got != tc.want {
				t.Errorf("containerConfig().Privileged = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMemoryLimits(t *testing.T) {
	tests := []struct {
		name        string
		hard        int64
		res         drivers.Resources
		wantMemory  int64
		wantReserve int64
		wantErr     bool
	}{
		{"memory only", 0, drivers.Resources{MemoryMB: 64}, 64 << 20, 0, false},
		{"memory_hard_limit", 256, drivers.Resources{MemoryMB: 64}, 256 << 20, 64 << 20, false},
		{"memory_max", 0, drivers.Resources{MemoryMB: 64, MemoryMaxMB: 128}, 128 << 20, 64 << 20, false},
		{"hard limit below memory", 32, drivers.Resources{MemoryMB: 64}, 0, 0, true},
		{"both hard limit and memory_max", 256, drivers.Resources{MemoryMB: 64, MemoryMaxMB: 128}, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := &drivers.TaskConfig{AllocDir: dir, TaskDir: filepath.Join(dir, "web"), Resources: &tc.res}
			_, hc, err := (&Driver{}).containerConfig(cfg, &TaskConfig{Image: "i", MemoryHardLimit: tc.hard}, Config{})
			if (err != nil) != tc.wantErr {
				t.Fatalf("containerConfig() error = %v, want error %v", err, tc.wantErr)
			}
			var gotMemory, gotReserve int64
			if hc != nil {
				gotMemory, gotReserve = hc.Memory, hc.MemoryReservation
			}
			if gotMemory != tc.wantMemory || gotReserve != tc.wantReserve {
				t.Errorf("containerConfig() memory = %d reservation %d, want %d and %d", gotMemory, gotReserve, tc.wantMemory, tc.wantReserve)
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
		{"bad pull timeout", `{"image":"i","image_pull_timeout":"soon"}`, []string{"config.image_pull_timeout"}},
		{"bad volume", `{"image":"i","volumes":["/a"]}`, []string{"config.volumes[0]"}},
		{"bad mount type and relative target", `{"image":"i","mount":{"type":"nfs","target":"x"}}`, []string{"config.mount[0].type", "config.mount[0].target"}},
		{"tmpfs with a source", `{"image":"i","mount":[{"type":"tmpfs","source":"s","target":"/t"}]}`, []string{"config.mount[0].source"}},
		{"unknown mount field", `{"image":"i","mount":[{"target":"/t","bogus":1}]}`, []string{"bogus"}},
		{"every problem at once", `{"volumes":["x"],"memory_hard_limit":-1}`, []string{"config.image", "config.volumes[0]", "config.memory_hard_limit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeTaskConfig([]byte(tc.raw))
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("DecodeTaskConfig(%s) = %v, want it to name %s", tc.raw, err, w)
				}
			}
		})
	}
}

func TestHostPath(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		enabled bool
		want    string
		wantErr error
	}{
		{"relative", "local/data", false, "/t/web/local/data", nil},
		{"another task's dir in the allocation", "../alloc/data", false, "/t/alloc/data", nil},
		{"escaping disabled", "../../etc", false, "", ErrVolumesDisabled},
		{"escaping enabled", "../../x", true, "/x", nil},
		{"absolute inside the allocation", "/t/alloc", false, "/t/alloc", nil},
		{"absolute disabled", "/etc", false, "", ErrVolumesDisabled},
		{"absolute enabled", "/etc/", true, "/etc", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hostPath("/t", "/t/web", tc.src, tc.enabled)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("hostPath(%q, %v) = %q, %v, want %q, %v", tc.src, tc.enabled, got, err, tc.want, tc.wantErr)
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
			c, err := DecodeConfig([]byte(tc.raw))
			if err != nil || c.Volumes.V.Enabled != tc.want {
				t.Errorf("DecodeConfig(%s) = %+v, %v, want volumes.enabled %v", tc.raw, c, err, tc.want)
			}
		})
	}
}
