package exec

import (
	"reflect"
	"strings"
	"testing"
)

func TestEffectiveCaps(t *testing.T) {
	tests := []struct {
		name      string
		allow     []string
		add, drop []string
		want      []string
		wantErr   string
	}{
		{
			name: "drop all then add one",
			drop: []string{"all"},
			add:  []string{"net_bind_service"},
			want: []string{"CAP_NET_BIND_SERVICE"},
		},
		{
			name: "drop one",
			drop: []string{"CAP_KILL", "mknod", "setfcap", "setpcap", "audit_write", "chown", "dac_override", "fowner", "fsetid", "net_bind_service", "setgid", "setuid"},
			want: []string{"CAP_SYS_CHROOT"},
		},
		{
			name:    "add beyond allow_caps",
			add:     []string{"sys_admin"},
			wantErr: "capability sys_admin is not in the plugin's allow_caps",
		},
		{
			name:  "allow_caps widened",
			allow: append([]string{"sys_time"}, DefaultCaps...),
			add:   []string{"SYS_TIME"},
			drop:  []string{"all"},
			want:  []string{"CAP_SYS_TIME"},
		},
		{
			name:    "unknown",
			add:     []string{"fly"},
			wantErr: `config.cap_add[0]: unknown capability "fly"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := effectiveCaps(tc.allow, tc.add, tc.drop)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("effectiveCaps() = %v, want error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("effectiveCaps() = %v, %v, want %v", got, err, tc.want)
			}
		})
	}
}
