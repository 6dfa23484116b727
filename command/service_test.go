package command

import (
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/api"
)

func TestFormatServiceOutput(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want []string
	}{
		{
			name: "one namespace",
			got: formatServiceList([]*api.ServiceRegistrationListStub{{Namespace: "default", Services: []*api.ServiceRegistrationStub{
				{ServiceName: "web", Tags: []string{"a", "b"}}}}}),
			want: []string{"Service Name", "web", "[a,b]"},
		},
		{
			name: "two namespaces",
			got: formatServiceList([]*api.ServiceRegistrationListStub{
				{Namespace: "default", Services: []*api.ServiceRegistrationStub{{ServiceName: "web"}}},
				{Namespace: "prod", Services: []*api.ServiceRegistrationStub{{ServiceName: "db"}}}}),
			want: []string{"Namespace", "web", "default", "db", "prod"},
		},
		{
			name: "alloc checks",
			got: formatAllocChecks(map[string]*api.CheckQueryResult{
				"b": {Service: "web", Task: "api", Check: "alive", Mode: "healthiness", Status: "critical"},
				"a": {Service: "web", Check: "ready", Mode: "healthiness", Status: "passing"},
			}),
			want: []string{"Service", "(group)", "ready", "passing", "api", "alive", "critical"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rest := tc.got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, tc.got)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
