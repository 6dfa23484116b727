// Package fingerprint discovers the host's facts and resources and renders
// them as Nomad's node attributes: cpu.*, memory.*, kernel.*, os.*, unique.*.
package fingerprint

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Version is reported as the nomad.version attribute.
const Version = "1.9.0"

// Result is what the host fingerprint found.
type Result struct {
	Attributes map[string]string
	// CPUMHz is the per-core clock; Cores the core count.
	CPUMHz        float64
	Cores         int
	TotalCompute  int
	MemoryMB      int64
	DiskFreeMB    int64
	NetworkIP     string
	NetworkDevice string
	HostnameValue string
}

// Host fingerprints the machine. dataDir is where disk space is measured.
// Unreadable sources are skipped; the result always has the basic attributes.
func Host(dataDir string) *Result {
	r := &Result{Attributes: map[string]string{}}
	attr := r.Attributes
	attr["nomad.version"] = Version
	attr["cpu.arch"] = runtime.GOARCH
	attr["kernel.name"] = runtime.GOOS
	attr["os.name"] = runtime.GOOS
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		attr["kernel.version"] = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/etc/os-release"); err == nil {
		id, ver := parseOSRelease(f)
		f.Close()
		if id != "" {
			attr["os.name"] = id
		}
		if ver != "" {
			attr["os.version"] = ver
		}
	}

	r.Cores = runtime.NumCPU()
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		mhz, model := parseCPUInfo(f)
		f.Close()
		r.CPUMHz = mhz
		if model != "" {
			attr["cpu.modelname"] = model
		}
	}
	if r.CPUMHz <= 0 {
		// No clock reported (some VMs and ARM hosts): assume 1 GHz per core.
		r.CPUMHz = 1000
	}
	r.TotalCompute = int(r.CPUMHz) * r.Cores
	attr["cpu.numcores"] = strconv.Itoa(r.Cores)
	attr["cpu.reservablecores"] = strconv.Itoa(r.Cores)
	attr["cpu.frequency"] = strconv.Itoa(int(r.CPUMHz))
	attr["cpu.totalcompute"] = strconv.Itoa(r.TotalCompute)

	if f, err := os.Open("/proc/meminfo"); err == nil {
		kb := parseMemTotalKB(f)
		f.Close()
		if kb > 0 {
			r.MemoryMB = kb / 1024
			attr["memory.totalbytes"] = strconv.FormatInt(kb*1024, 10)
		}
	}

	if dataDir != "" {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dataDir, &st); err == nil {
			free := int64(st.Bavail) * int64(st.Bsize)
			total := int64(st.Blocks) * int64(st.Bsize)
			r.DiskFreeMB = free / (1024 * 1024)
			attr["unique.storage.volume"] = dataDir
			attr["unique.storage.bytestotal"] = strconv.FormatInt(total, 10)
			attr["unique.storage.bytesfree"] = strconv.FormatInt(free, 10)
		}
	}

	if h, err := os.Hostname(); err == nil {
		r.HostnameValue = h
		attr["unique.hostname"] = h
	}
	r.NetworkIP = localIP()
	r.NetworkDevice = deviceOf(r.NetworkIP)
	attr["unique.network.ip-address"] = r.NetworkIP
	return r
}

// parseCPUInfo returns the highest "cpu MHz" and the first "model name".
func parseCPUInfo(r io.Reader) (mhz float64, model string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "cpu MHz":
			if f, err := strconv.ParseFloat(v, 64); err == nil && f > mhz {
				mhz = f
			}
		case "model name":
			if model == "" {
				model = v
			}
		}
	}
	return mhz, model
}

// parseMemTotalKB returns MemTotal from /proc/meminfo, in KiB.
func parseMemTotalKB(r io.Reader) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var kb int64
		if n, _ := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); n == 1 {
			return kb
		}
	}
	return 0
}

// parseOSRelease returns ID and VERSION_ID from /etc/os-release.
func parseOSRelease(r io.Reader) (id, version string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			version = v
		}
	}
	return id, version
}

// localIP returns the address of the interface holding the default route,
// else the first non-loopback IPv4 address, else 127.0.0.1.
func localIP() string {
	// A UDP "dial" picks the outgoing interface without sending anything.
	if c, err := net.Dial("udp4", "192.0.2.1:9"); err == nil {
		ip := c.LocalAddr().(*net.UDPAddr).IP
		c.Close()
		if !ip.IsLoopback() && !ip.IsUnspecified() {
			return ip.String()
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// deviceOf names the interface holding ip, or "" if none does.
func deviceOf(ip string) string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.String() == ip {
				return ifc.Name
			}
		}
	}
	return ""
}

// Resources builds NodeResources from a host fingerprint and operator
// overrides (zero means "use the fingerprint").
func (r *Result) Resources(cpuOverride int, memOverrideMB int) *structs.NodeResources {
	cpu := int64(r.TotalCompute)
	if cpuOverride > 0 {
		cpu = int64(cpuOverride)
	}
	cores := make([]uint16, r.Cores)
	for i := range cores {
		cores[i] = uint16(i)
	}
	mem := r.MemoryMB
	if memOverrideMB > 0 {
		mem = int64(memOverrideMB)
	}
	return &structs.NodeResources{
		Cpu:    structs.NodeCpuResources{CpuShares: cpu, TotalCpuCores: uint16(r.Cores)},
		Memory: structs.NodeMemoryResources{MemoryMB: mem},
		Disk:   structs.NodeDiskResources{DiskMB: r.DiskFreeMB},
		Networks: []*structs.NetworkResource{{
			Mode:   "host",
			Device: r.NetworkDevice,
			IP:     r.NetworkIP,
			CIDR:   r.NetworkIP + "/32",
			MBits:  1000,
		}},
		MinDynamicPort: 20000,
		MaxDynamicPort: 32000,
	}
}
