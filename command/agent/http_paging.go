package agent

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"

	"github.com/hashicorp/go-bexpr"

	"github.com/nomadish/nomadish/nomadish/server"
)

// maxFilterLen bounds a filter expression.
const maxFilterLen = 4096

// filterAndPage applies Nomad's `filter` (a go-bexpr expression over the
// listed objects' fields), then `per_page` and `next_token` (the ID of the
// first object of the page), to a slice of list entries. It sets
// X-Nomad-NextToken when more pages follow.
func filterAndPage(w http.ResponseWriter, r *http.Request, list interface{}) (interface{}, error) {
	q := r.URL.Query()
	v := reflect.ValueOf(list)
	if v.Kind() != reflect.Slice {
		return list, nil
	}
	expr := q.Get("filter")
	perPage := 0
	if s := q.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, server.NewCodedError(400, "per_page must be a non-negative integer")
		}
		perPage = n
	}
	token := q.Get("next_token")
	if expr == "" && perPage == 0 && token == "" {
		return list, nil
	}
	if len(expr) > maxFilterLen {
		return nil, server.NewCodedError(400, fmt.Sprintf("filter is longer than %d characters", maxFilterLen))
	}
	var eval *bexpr.Evaluator
	if expr != "" {
		e, err := bexpr.CreateEvaluator(expr)
		if err != nil {
			return nil, server.NewCodedError(400, "failed to read filter expression: "+err.Error())
		}
		eval = e
	}
	out := reflect.MakeSlice(v.Type(), 0, v.Len())
	started := token == ""
	for i := 0; i < v.Len(); i++ {
		item := v.Index(i)
		if !started {
			if idOf(item) != token {
				continue
			}
			started = true
		}
		if eval != nil {
			ok, err := eval.Evaluate(item.Interface())
			if err != nil {
				return nil, server.NewCodedError(400, "failed to apply filter: "+err.Error())
			}
			if !ok {
				continue
			}
		}
		if perPage > 0 && out.Len() == perPage {
			w.Header().Set("X-Nomad-NextToken", idOf(item))
			break
		}
		out = reflect.Append(out, item)
	}
	return out.Interface(), nil
}

// idOf returns the ID field of a list entry.
func idOf(v reflect.Value) string {
	for v.Kind() == reflect.Ptr || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	f := v.FieldByName("ID")
	if !f.IsValid() || f.Kind() != reflect.String {
		return ""
	}
	return f.String()
}
