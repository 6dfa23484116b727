package catalog

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/drivers"
)

func TestValidateTaskConfigMaps(t *testing.T) {
	schema := &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "port_map", Type: drivers.TypeMapNumber},
		{Name: "labels", Type: drivers.TypeMapStr},
	}}
	tests := []struct {
		name    string
		field   string
		value   interface{}
		wantErr []string
	}{
		{"map", "port_map", map[string]interface{}{"http": float64(8080)}, nil},
		{"job file block", "port_map", []interface{}{map[string]interface{}{"http": 8080, "db": float64(6379)}}, nil},
		{"repeated job file blocks", "port_map", []interface{}{map[string]interface{}{"http": 80}, map[string]interface{}{"https": 443}}, nil},
		{"repeated labels blocks", "labels", []interface{}{map[string]interface{}{"a": "b"}, map[string]interface{}{"c": "d"}}, nil},
		{"string value", "port_map", map[string]interface{}{"http": "8080"}, []string{"config.port_map.http: want number, got string"}},
		{"number label in a second block", "labels", []interface{}{map[string]interface{}{"a": "b"}, map[string]interface{}{"c": 1}}, []string{"config.labels.c: want string, got number"}},
		{"not a map", "port_map", "http=8080", []string{"config.port_map: want map of numbers, got string"}},
		{"a list of something else", "port_map", []interface{}{"http"}, []string{"config.port_map: want map of numbers, got list"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateTaskConfig(schema, map[string]interface{}{tc.field: tc.value})
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(got, tc.wantErr) {
				t.Errorf("ValidateTaskConfig(%s = %v) = %q, want %q", tc.field, tc.value, got, tc.wantErr)
			}
		})
	}
}
