package structs

import (
	"reflect"
	"testing"
)

func fitNode() *Node {
	return &Node{
		ID: "n1",
		NodeResources: &NodeResources{
			Cpu:    NodeCpuResources{CpuShares: 2000},
			Memory: NodeMemoryResources{MemoryMB: 2048},
			Disk:   NodeDiskResources{DiskMB: 1000},
		},
		ReservedResources: &NodeReservedResources{
			Cpu:      NodeReservedCpuResources{CpuShares: 100},
			Memory:   NodeReservedMemoryResources{MemoryMB: 48},
			Networks: NodeReservedNetworkResources{ReservedHostPorts: "22,80-81"},
		},
	}
}

func fitAlloc(cpu, mem, disk int64, ports ...int) *Allocation {
	a := &Allocation{
		DesiredStatus: AllocDesiredStatusRun,
		ClientStatus:  AllocClientStatusRunning,
		AllocatedResources: &AllocatedResources{
			Tasks:  map[string]*AllocatedTaskResources{"t": {Cpu: AllocatedCpuResources{CpuShares: cpu}, Memory: AllocatedMemoryResources{MemoryMB: mem}}},
			Shared: AllocatedSharedResources{DiskMB: disk},
		},
	}
	for _, p := range ports {
		a.AllocatedResources.Shared.Ports = append(a.AllocatedResources.Shared.Ports, AllocatedPortMapping{Value: p})
	}
	return a
}

func withCores(a *Allocation, ids ...uint16) *Allocation {
	a.AllocatedResources.Tasks["t"].Cpu.ReservedCores = ids
	return a
}

func TestAllocsFit(t *testing.T) {
	stopped := fitAlloc(5000, 5000, 5000, 22)
	stopped.DesiredStatus = AllocDesiredStatusStop
	cases := []struct {
		name    string
		allocs  []*Allocation
		wantFit bool
		wantDim string
		wantCPU int64
	}{
		{"empty", nil, true, "", 0},
		{"exact fit", []*Allocation{fitAlloc(1000, 1000, 500), fitAlloc(900, 1000, 500)}, true, "", 1900},
		{"cpu over", []*Allocation{fitAlloc(1901, 10, 10)}, false, DimensionCPU, 1901},
		{"memory over", []*Allocation{fitAlloc(10, 2001, 10)}, false, DimensionMemory, 10},
		{"disk over", []*Allocation{fitAlloc(10, 10, 1001)}, false, DimensionDisk, 10},
		{"terminal ignored", []*Allocation{stopped}, true, "", 0},
		{"reserved port", []*Allocation{fitAlloc(1, 1, 1, 81)}, false, DimensionPortCollides, 1},
		{"two allocs one port", []*Allocation{fitAlloc(1, 1, 1, 8080), fitAlloc(1, 1, 1, 8080)}, false, DimensionPortCollides, 2},
		{"distinct ports", []*Allocation{fitAlloc(1, 1, 1, 8080), fitAlloc(1, 1, 1, 8081)}, true, "", 2},
		{"core twice", []*Allocation{withCores(fitAlloc(1, 1, 1), 0, 1), withCores(fitAlloc(1, 1, 1), 1)}, false, DimensionCores, 2},
		{"distinct cores", []*Allocation{withCores(fitAlloc(1, 1, 1), 0, 1), withCores(fitAlloc(1, 1, 1), 2)}, true, "", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fit, dim, used, err := AllocsFit(fitNode(), tc.allocs)
			if err != nil {
				t.Fatalf("AllocsFit() error = %v, want nil", err)
			}
			if fit != tc.wantFit || dim != tc.wantDim || used.CpuShares != tc.wantCPU {
				t.Errorf("AllocsFit() = %v, %q, cpu %d, want %v, %q, cpu %d", fit, dim, used.CpuShares, tc.wantFit, tc.wantDim, tc.wantCPU)
			}
		})
	}
}

func TestParsePortRanges(t *testing.T) {
	cases := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"", nil, false},
		{"22", []int{22}, false},
		{"22, 80-82", []int{22, 80, 81, 82}, false},
		{"90-80", nil, true},
		{"x", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePortRanges(tc.in)
			if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParsePortRanges(%q) = %v, %v, want %v, err %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
