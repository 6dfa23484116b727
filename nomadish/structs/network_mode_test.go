package structs

import (
	"strings"
	"testing"
)

func TestValidateNetworkMode(t *testing.T) {
	tests := []struct {
		mode string
		want string
	}{
		{"", ""},
		{"host", ""},
		{"bridge", ""},
		{"none", ""},
		{"cni/mynet", `group "web": network.mode "cni/mynet": CNI networks are not supported`},
		{"Bridge", `group "web": network.mode "Bridge" must be host, bridge or none`},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			j := validJob()
			j.TaskGroups[0].Networks = []*NetworkResource{{Mode: tc.mode}}
			err := j.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() with mode %q = %v, want %q", tc.mode, err, tc.want)
			}
		})
	}
}
