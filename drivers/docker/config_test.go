package docker

import (
	"reflect"
	"testing"
)

func TestDecodeTaskConfigLabels(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want StringMap
	}{
		{"map", `{"image":"i","labels":{"a":"b"}}`, StringMap{"a": "b"}},
		{"job file list", `{"image":"i","labels":[{"a":"b"},{"c":"d"}]}`, StringMap{"a": "b", "c": "d"}},
		{"absent", `{"image":"i"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeTaskConfig([]byte(tc.raw))
			if err != nil {
				t.Fatalf("DecodeTaskConfig(%s) = %v", tc.raw, err)
			}
			if !reflect.DeepEqual(got.Labels, tc.want) {
				t.Errorf("DecodeTaskConfig(%s).Labels = %v, want %v", tc.raw, got.Labels, tc.want)
			}
		})
	}
}
