package scheduler

import (
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func constraintNode() *structs.Node {
	n := testNode("node-1", 1000, 1000)
	n.Name = "host-1"
	n.Datacenter = "dc2"
	n.NodeClass = "large"
	n.NodePool = "prod"
	n.Attributes["kernel.version"] = "5.15.0"
	n.Attributes["nomad.version"] = "1.7.0-beta.1"
	n.Attributes["cpu.numcores"] = "16"
	n.Attributes["os.features"] = "sse,avx,avx2"
	n.Meta["rack"] = "r-12"
	return n
}

func TestMeetsConstraint(t *testing.T) {
	cases := []struct {
		name string
		l    string
		op   string
		r    string
		want bool
	}{
		{"eq", "${attr.kernel.name}", "=", "linux", true},
		{"eqeq", "${attr.kernel.name}", "==", "linux", true},
		{"is", "${node.datacenter}", "is", "dc2", true},
		{"eq miss", "${attr.kernel.name}", "=", "windows", false},
		{"eq unset", "${attr.nope}", "=", "x", false},
		{"neq", "${attr.kernel.name}", "!=", "windows", true},
		{"not", "${node.class}", "not", "large", false},
		{"neq unset", "${meta.nope}", "!=", "x", true},
		{"lt numeric", "${attr.cpu.numcores}", "<", "32", true},
		{"lt lexical would fail", "${attr.cpu.numcores}", ">", "4", true},
		{"le", "${attr.cpu.numcores}", "<=", "16", true},
		{"gt", "${attr.cpu.numcores}", ">", "16", false},
		{"ge", "${attr.cpu.numcores}", ">=", "16", true},
		{"lexical", "${meta.rack}", "<", "r-2", true},
		{"regexp", "${meta.rack}", "regexp", "^r-[0-9]+$", true},
		{"regexp miss", "${meta.rack}", "regexp", "^s-", false},
		{"regexp invalid", "${meta.rack}", "regexp", "(", false},
		{"version", "${attr.kernel.version}", "version", ">= 5.0, < 6.0", true},
		{"version miss", "${attr.kernel.version}", "version", "> 5.15.0", false},
		{"version prerelease excluded", "${attr.nomad.version}", "version", ">= 1.6.0", false},
		{"semver prerelease ordered", "${attr.nomad.version}", "semver", ">= 1.6.0", true},
		{"semver below", "${attr.nomad.version}", "semver", ">= 1.7.0", false},
		{"semver pessimistic rejected", "${attr.nomad.version}", "semver", "~> 1.7", false},
		{"set_contains", "${attr.os.features}", "set_contains", "avx, sse", true},
		{"set_contains_all miss", "${attr.os.features}", "set_contains_all", "avx,neon", false},
		{"set_contains_any", "${attr.os.features}", "set_contains_any", "neon,avx2", true},
		{"set_contains_any miss", "${attr.os.features}", "set_contains_any", "neon", false},
		{"is_set", "${meta.rack}", "is_set", "", true},
		{"is_set miss", "${meta.zone}", "is_set", "", false},
		{"is_not_set", "${meta.zone}", "is_not_set", "", true},
		{"unique id", "${node.unique.id}", "=", "node-1", true},
		{"unique name", "${node.unique.name}", "=", "host-1", true},
		{"pool", "${node.pool}", "=", "prod", true},
		{"unknown target", "${foo.bar}", "is_set", "", false},
		{"unknown operand", "${meta.rack}", "~", "r-12", false},
		{"target on right", "r-12", "=", "${meta.rack}", true},
	}
	n := constraintNode()
	var cc constraintCache
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &structs.Constraint{LTarget: tc.l, Operand: tc.op, RTarget: tc.r}
			if got := cc.meetsConstraint(c, n); got != tc.want {
				t.Errorf("meetsConstraint(%s) = %v, want %v", constraintString(c), got, tc.want)
			}
		})
	}
}

func TestFitScore(t *testing.T) {
	avail := &structs.ComparableResources{CpuShares: 1000, MemoryMB: 1000}
	cases := []struct {
		name string
		algo string
		used structs.ComparableResources
		want float64
	}{
		{"binpack empty", SchedulerAlgorithmBinpack, structs.ComparableResources{}, 0},
		{"binpack full", SchedulerAlgorithmBinpack, structs.ComparableResources{CpuShares: 1000, MemoryMB: 1000}, 1},
		{"spread empty", SchedulerAlgorithmSpread, structs.ComparableResources{}, 1},
		{"spread full", SchedulerAlgorithmSpread, structs.ComparableResources{CpuShares: 1000, MemoryMB: 1000}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := fitScore(tc.algo, avail, &tc.used)
			if d := got - tc.want; d > 1e-9 || d < -1e-9 {
				t.Errorf("fitScore(%s, %+v) = %v, want %v", tc.algo, tc.used, got, tc.want)
			}
		})
	}
	half := &structs.ComparableResources{CpuShares: 500, MemoryMB: 500}
	more := &structs.ComparableResources{CpuShares: 800, MemoryMB: 800}
	if a, b := fitScore(SchedulerAlgorithmBinpack, avail, half), fitScore(SchedulerAlgorithmBinpack, avail, more); a >= b {
		t.Errorf("fitScore(binpack, half) = %v, want below fitScore(binpack, 80%%) = %v", a, b)
	}
}

func TestRescheduleDelay(t *testing.T) {
	ev := func(n int) []*structs.RescheduleEvent { return make([]*structs.RescheduleEvent, n) }
	cases := []struct {
		name   string
		fn     string
		events int
		want   int64
	}{
		{"constant", "constant", 3, 10},
		{"exponential first", "exponential", 0, 10},
		{"exponential third", "exponential", 2, 40},
		{"exponential capped", "exponential", 10, 100},
		{"fibonacci", "fibonacci", 4, 50},
		{"fibonacci capped", "fibonacci", 20, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &structs.ReschedulePolicy{Delay: 10, MaxDelay: 100, DelayFunction: tc.fn}
			if got := rescheduleDelay(p, ev(tc.events)); int64(got) != tc.want {
				t.Errorf("rescheduleDelay(%s, %d) = %d, want %d", tc.fn, tc.events, got, tc.want)
			}
		})
	}
}
