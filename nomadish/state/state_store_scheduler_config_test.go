package state

import (
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestSchedulerSetConfig(t *testing.T) {
	spread := &structs.SchedulerConfiguration{SchedulerAlgorithm: structs.SchedulerAlgorithmSpread}
	cases := []struct {
		name        string
		prior       bool // store a config at index 10 first
		cas         bool
		modifyIndex uint64
		wantUpdated bool
		wantAlgo    string
	}{
		{name: "first set", wantUpdated: true, wantAlgo: "spread"},
		{name: "overwrite", prior: true, wantUpdated: true, wantAlgo: "spread"},
		{name: "cas on empty with 0", cas: true, wantUpdated: true, wantAlgo: "spread"},
		{name: "cas on empty with stale index", cas: true, modifyIndex: 3, wantUpdated: false},
		{name: "cas matching", prior: true, cas: true, modifyIndex: 10, wantUpdated: true, wantAlgo: "spread"},
		{name: "cas stale", prior: true, cas: true, modifyIndex: 9, wantUpdated: false, wantAlgo: "binpack"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStateStore()
			if tc.prior {
				if _, err := s.SchedulerSetConfig(10, structs.DefaultSchedulerConfiguration(), false); err != nil {
					t.Fatal(err)
				}
			}
			in := spread.Copy()
			in.ModifyIndex = tc.modifyIndex
			got, err := s.SchedulerSetConfig(20, in, tc.cas)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.wantUpdated {
				t.Errorf("SchedulerSetConfig(cas=%v, %d) = %v, want %v", tc.cas, tc.modifyIndex, got, tc.wantUpdated)
			}
			_, cfg, err := s.SchedulerConfig(nil)
			if err != nil {
				t.Fatal(err)
			}
			algo := ""
			if cfg != nil {
				algo = cfg.SchedulerAlgorithm
			}
			if algo != tc.wantAlgo {
				t.Errorf("SchedulerConfig().SchedulerAlgorithm = %q, want %q", algo, tc.wantAlgo)
			}
		})
	}
}

func TestSchedulerConfigIndexes(t *testing.T) {
	s := NewStateStore()
	if _, err := s.SchedulerSetConfig(5, structs.DefaultSchedulerConfiguration(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SchedulerSetConfig(8, &structs.SchedulerConfiguration{SchedulerAlgorithm: "spread"}, false); err != nil {
		t.Fatal(err)
	}
	idx, cfg, err := s.SchedulerConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if idx != 8 || cfg.CreateIndex != 5 || cfg.ModifyIndex != 8 {
		t.Errorf("SchedulerConfig() = index %d, create %d, modify %d, want 8, 5, 8", idx, cfg.CreateIndex, cfg.ModifyIndex)
	}
}

func TestSchedulerConfigSnapshot(t *testing.T) {
	s := NewStateStore()
	want := &structs.SchedulerConfiguration{
		SchedulerAlgorithm:            structs.SchedulerAlgorithmSpread,
		PreemptionConfig:              structs.PreemptionConfig{ServiceSchedulerEnabled: true},
		MemoryOversubscriptionEnabled: true,
	}
	if _, err := s.SchedulerSetConfig(7, want, false); err != nil {
		t.Fatal(err)
	}
	r := persistRestore(t, s)
	idx, got, err := r.SchedulerConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.SchedulerAlgorithm != "spread" || !got.PreemptionConfig.ServiceSchedulerEnabled ||
		!got.MemoryOversubscriptionEnabled || got.ModifyIndex != 7 || idx != 7 {
		t.Errorf("restored SchedulerConfig() = %d, %+v, want 7, %+v at index 7", idx, got, want)
	}
}
