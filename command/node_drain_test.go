package command

import (
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/api"
)

func TestDrainSpec(t *testing.T) {
	tests := []struct {
		name         string
		deadline     string
		force        bool
		noDeadline   bool
		ignoreSystem bool
		want         api.DrainSpec
		wantErr      bool
	}{
		{name: "default deadline is an hour", want: api.DrainSpec{Deadline: time.Hour}},
		{name: "deadline", deadline: "90s", want: api.DrainSpec{Deadline: 90 * time.Second}},
		{name: "force", force: true, want: api.DrainSpec{Deadline: -1}},
		{name: "no deadline", noDeadline: true, want: api.DrainSpec{Deadline: 0}},
		{name: "ignore system", ignoreSystem: true, want: api.DrainSpec{Deadline: time.Hour, IgnoreSystemJobs: true}},
		{name: "bad deadline", deadline: "soon", wantErr: true},
		{name: "negative deadline", deadline: "-5m", wantErr: true},
		{name: "deadline and force", deadline: "5m", force: true, wantErr: true},
		{name: "force and no deadline", force: true, noDeadline: true, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := drainSpec(tc.deadline, tc.force, tc.noDeadline, tc.ignoreSystem)
			if (err != nil) != tc.wantErr {
				t.Fatalf("drainSpec() error = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && *got != tc.want {
				t.Errorf("drainSpec() = %+v, want %+v", *got, tc.want)
			}
		})
	}
}
