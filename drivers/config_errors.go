package drivers

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// ConfigFieldError names the task config field of a value the schema's
// types let through but the driver's config type cannot hold, such as 1.5
// for an integer: "config.<field>: want ..., got ...". Other errors are
// returned as they are.
func ConfigFieldError(err error) error {
	var ute *json.UnmarshalTypeError
	if !errors.As(err, &ute) || ute.Field == "" {
		return err
	}
	want := ute.Type.String()
	switch ute.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "an integer in range"
	}
	return fmt.Errorf("config.%s: want %s, got %s", ute.Field, want, ute.Value)
}
