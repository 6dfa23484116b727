package catalog

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/drivers"
)

func TestValidateTaskConfigMapNumber(t *testing.T) {
	schema := &drivers.Schema{Fields: []*drivers.SchemaField{{Name: "port_map", Type: drivers.TypeMapNumber}}}
	tests := []struct {
		name    string
		value   interface{}
		wantErr []string
	}{
		{"map", map[string]interface{}{"http": float64(8080)}, nil},
		{"job file block", []interface{}{map[string]interface{}{"http": 8080, "db": float64(6379)}}, nil},
		{"string value", map[string]interface{}{"http": "8080"}, []string{"config.port_map.http: want number, got string"}},
		{"not a map", "http=8080", []string{"config.port_map: want map of numbers, got string"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateTaskConfig(schema, map[string]interface{}{"port_map": tc.value})
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(got, tc.wantErr) {
				t.Errorf("ValidateTaskConfig(%v) = %q, want %q", tc.value, got, tc.wantErr)
			}
		})
	}
}
