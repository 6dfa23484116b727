package fingerprint

import (
	"strings"
	"testing"
)

func TestParseCPUInfo(t *testing.T) {
	in := "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2095.999\nprocessor\t: 1\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2400.000\n"
	mhz, model := parseCPUInfo(strings.NewReader(in))
	if mhz != 2400 || model != "AMD EPYC" {
		t.Errorf("parseCPUInfo() = %v, %q, want 2400, AMD EPYC", mhz, model)
	}
}

func TestParseMemTotal(t *testing.T) {
	in := "MemTotal:       16303428 kB\nMemFree:         1234 kB\n"
	if got := parseMemTotalKB(strings.NewReader(in)); got != 16303428 {
		t.Errorf("parseMemTotalKB() = %d, want 16303428", got)
	}
}

func TestParseOSRelease(t *testing.T) {
	id, ver := parseOSRelease(strings.NewReader("NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"24.04\"\n"))
	if id != "ubuntu" || ver != "24.04" {
		t.Errorf("parseOSRelease() = %q, %q, want ubuntu, 24.04", id, ver)
	}
}

func TestHost(t *testing.T) {
	r := Host(t.TempDir())
	for _, k := range []string{"cpu.numcores", "cpu.totalcompute", "cpu.arch", "kernel.name", "os.name", "nomad.version", "unique.hostname", "unique.network.ip-address"} {
		if r.Attributes[k] == "" {
			t.Errorf("attribute %s missing", k)
		}
	}
	res := r.Resources(0, 0)
	if res.Cpu.CpuShares <= 0 || res.Disk.DiskMB <= 0 || res.MinDynamicPort != 20000 || res.MaxDynamicPort != 32000 {
		t.Errorf("Resources() = %+v, want positive cpu/disk and ports 20000-32000", res)
	}
	if got := r.Resources(1234, 512); got.Cpu.CpuShares != 1234 || got.Memory.MemoryMB != 512 {
		t.Errorf("Resources(1234, 512) = cpu %d mem %d, want 1234, 512", got.Cpu.CpuShares, got.Memory.MemoryMB)
	}
}
