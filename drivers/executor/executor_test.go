package executor

import (
	"syscall"
	"testing"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in      string
		want    syscall.Signal
		wantErr bool
	}{
		{in: "SIGINT", want: syscall.SIGINT},
		{in: "TERM", want: syscall.SIGTERM},
		{in: "sighup", want: syscall.SIGHUP},
		{in: "9", want: syscall.SIGKILL},
		{in: "SIGNOPE", wantErr: true},
		{in: "", wantErr: true},
		{in: "0", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSignal(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseSignal(%q) = %v, %v, want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestSharesToWeight(t *testing.T) {
	tests := []struct{ shares, want uint64 }{
		{0, 1}, {2, 1}, {1024, 39}, {262144, 10000}, {1 << 30, 10000},
	}
	for _, tc := range tests {
		if got := sharesToWeight(tc.shares); got != tc.want {
			t.Errorf("sharesToWeight(%d) = %d, want %d", tc.shares, got, tc.want)
		}
	}
}
