package jobspec

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Bounds on the work one job file may ask for, so that no input can exhaust
// memory: the elements iterated by all for expressions and dynamic blocks
// together, and the size of any value a function returns.
const (
	maxIterations     = 1 << 17
	maxValueBytes     = 8 << 20
	maxValueElements  = 1 << 20
	maxFormatWidth    = 10000
	maxIndent         = 1000
	maxSetProductSize = 100000
	maxBcryptCost     = 12
	maxYAMLAliases    = 100
)

var errExpansion = fmt.Errorf("the job file expands to more than %d iterations", maxIterations)

// budget counts iterations across the whole file.
type budget struct{ left int }

func (b *budget) spend(n int) error {
	b.left -= n
	if b.left < 0 {
		return errExpansion
	}
	return nil
}

// countedExpr charges the length of the collection it evaluates to.
type countedExpr struct {
	hclsyntax.Expression
	b *budget
}

func (c *countedExpr) Value(ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	v, diags := c.Expression.Value(ctx)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() {
		return v, diags
	}
	t := v.Type()
	if t.IsListType() || t.IsSetType() || t.IsTupleType() || t.IsMapType() || t.IsObjectType() {
		if err := c.b.spend(v.LengthInt() + 1); err != nil {
			return cty.DynamicVal, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Too many iterations",
				Detail:   err.Error() + ".",
				Subject:  c.Range().Ptr(),
			})
		}
	}
	return v, diags
}

// limitIterations makes every for expression and dynamic block for_each in
// the body draw on b.
func limitIterations(body *hclsyntax.Body, b *budget) {
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		switch n := n.(type) {
		case *hclsyntax.ForExpr:
			if _, done := n.CollExpr.(*countedExpr); !done {
				n.CollExpr = &countedExpr{Expression: n.CollExpr, b: b}
			}
		case *hclsyntax.Block:
			if n.Type != "dynamic" {
				return nil
			}
			if a, ok := n.Body.Attributes["for_each"]; ok {
				if _, done := a.Expr.(*countedExpr); !done {
					a.Expr = &countedExpr{Expression: a.Expr, b: b}
				}
			}
		}
		return nil
	})
}

// unwrapped lists functions that take expressions rather than values and
// so cannot be wrapped.
var unwrapped = map[string]bool{"try": true, "can": true, "convert": true}

// limitFunctions wraps each function so that its result is bounded, and
// checks arguments that would make a few functions allocate without bound.
func limitFunctions(funcs map[string]function.Function) {
	for name, fn := range funcs {
		if unwrapped[name] {
			continue
		}
		funcs[name] = limitFunction(name, fn)
	}
}

var formatWidth = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\d+)?(\.\d+)?`)

func limitFunction(name string, fn function.Function) function.Function {
	return function.New(&function.Spec{
		Description: fn.Description(),
		Params:      fn.Params(),
		VarParam:    fn.VarParam(),
		Type: func(args []cty.Value) (cty.Type, error) {
			return fn.ReturnTypeForValues(args)
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if err := checkArgs(name, args); err != nil {
				return cty.DynamicVal, err
			}
			v, err := fn.Call(args)
			if err != nil {
				return v, err
			}
			if err := checkSize(v); err != nil {
				return cty.DynamicVal, fmt.Errorf("result of %s: %w", name, err)
			}
			return v, nil
		},
	})
}

func checkArgs(name string, args []cty.Value) error {
	known := func(i int) bool { return i < len(args) && args[i].IsKnown() && !args[i].IsNull() }
	switch name {
	case "format", "formatlist":
		if known(0) && args[0].Type() == cty.String {
			for _, m := range formatWidth.FindAllStringSubmatch(args[0].AsString(), -1) {
				for _, g := range m[2:] {
					if len(g) > 0 && atoiSafe(g) > maxFormatWidth {
						return fmt.Errorf("format width or precision above %d", maxFormatWidth)
					}
				}
			}
		}
	case "indent":
		if known(0) && args[0].Type() == cty.Number {
			if f, _ := args[0].AsBigFloat().Float64(); f > maxIndent {
				return fmt.Errorf("indent above %d spaces", maxIndent)
			}
		}
	case "bcrypt":
		if known(1) && args[1].Type() == cty.Number {
			if f, _ := args[1].AsBigFloat().Float64(); f > maxBcryptCost {
				return fmt.Errorf("bcrypt cost above %d", maxBcryptCost)
			}
		}
	case "yamldecode":
		if known(0) && args[0].Type() == cty.String && strings.Count(args[0].AsString(), "*") > maxYAMLAliases {
			return fmt.Errorf("YAML with more than %d aliases", maxYAMLAliases)
		}
	case "setproduct":
		total := 1
		for _, a := range args {
			if !a.IsKnown() || a.IsNull() || !a.CanIterateElements() {
				continue
			}
			total *= a.LengthInt() + 1
			if total > maxSetProductSize {
				return fmt.Errorf("setproduct would have more than %d elements", maxSetProductSize)
			}
		}
	}
	return nil
}

func atoiSafe(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			continue
		}
		n = n*10 + int(c-'0')
		if n > 1<<30 {
			return n
		}
	}
	return n
}

// checkSize bounds a value's total string bytes and element count.
func checkSize(v cty.Value) error {
	bytes, elems := 0, 0
	var walk func(cty.Value) error
	walk = func(v cty.Value) error {
		if !v.IsKnown() || v.IsNull() {
			return nil
		}
		v, _ = v.Unmark()
		t := v.Type()
		switch {
		case t == cty.String:
			bytes += len(v.AsString())
		case t.IsListType() || t.IsSetType() || t.IsTupleType() || t.IsMapType() || t.IsObjectType():
			elems += v.LengthInt()
			if elems > maxValueElements {
				return errors.New("value has too many elements")
			}
			for it := v.ElementIterator(); it.Next(); {
				k, e := it.Element()
				if k.Type() == cty.String {
					bytes += len(k.AsString())
				}
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		if bytes > maxValueBytes {
			return errors.New("value is larger than 8 MiB")
		}
		return nil
	}
	return walk(v)
}
