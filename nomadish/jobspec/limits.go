package jobspec

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
)

// Bounds on the work one job file may ask for, so that no input can exhaust
// memory: the elements iterated by all for expressions and dynamic blocks
// together, and the size of any value a function returns.
const (
	maxIterations     = 1 << 17
	maxWork           = 1 << 26
	maxValueBytes     = 8 << 20
	maxValueElements  = 1 << 20
	maxFormatWidth    = 10000
	maxIndent         = 1000
	maxSetProductSize = 100000
	maxBcryptCost     = 12
	maxUnifyElements  = 4096
	maxYAMLAliases    = 100
)

var errExpansion = fmt.Errorf("the job file expands to more than %d iterations", maxIterations)

var errWork = fmt.Errorf("the job file's functions process more than %d values", maxWork)

// budget counts iterations, and the values that functions are given and
// return, across the whole file.
type budget struct {
	left int
	work int
}

func newBudget() *budget { return &budget{left: maxIterations, work: maxWork} }

func (b *budget) spend(n int) error {
	b.left -= n
	if b.left < 0 {
		return errExpansion
	}
	return nil
}

func (b *budget) spendWork(n int) error {
	b.work -= n
	if b.work < 0 {
		return errWork
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

// limitIterations makes every for expression and dynamic block for_each
// under node draw on b.
func limitIterations(node hclsyntax.Node, b *budget) {
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
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

// limitFunctions wraps each function so that its result is bounded, the
// values it is given and returns are charged to b, and arguments that would
// make a few functions allocate without bound are refused.
func limitFunctions(funcs map[string]function.Function, b *budget) {
	for name, fn := range funcs {
		if unwrapped[name] {
			continue
		}
		funcs[name] = limitFunction(name, fn, b)
	}
}

var formatWidth = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\d+)?(\.\d+)?`)

// limitFunction wraps fn. The wrapper takes any values, so that it sees
// them before fn's parameter conversions run.
func limitFunction(name string, fn function.Function, b *budget) function.Function {
	params := make([]function.Parameter, len(fn.Params()))
	for i, p := range fn.Params() {
		params[i] = passThrough(p)
	}
	var varParam *function.Parameter
	if vp := fn.VarParam(); vp != nil {
		p := passThrough(*vp)
		varParam = &p
	}
	return function.New(&function.Spec{
		Description: fn.Description(),
		Params:      params,
		VarParam:    varParam,
		Type: func(args []cty.Value) (cty.Type, error) {
			args, err := convertArgs(fn, args, b)
			if err != nil {
				return cty.DynamicPseudoType, err
			}
			return fn.ReturnTypeForValues(args)
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			args, err := convertArgs(fn, args, b)
			if err != nil {
				return cty.DynamicVal, err
			}
			if err := checkArgs(name, args); err != nil {
				return cty.DynamicVal, err
			}
			units := 1
			for _, a := range args {
				n, _ := valueSize(a)
				units += n
			}
			if err := b.spendWork(units); err != nil {
				return cty.DynamicVal, err
			}
			v, err := fn.Call(args)
			if err != nil {
				return v, err
			}
			n, err := valueSize(v)
			if err != nil {
				return cty.DynamicVal, fmt.Errorf("result of %s: %w", name, err)
			}
			if err := b.spendWork(n); err != nil {
				return cty.DynamicVal, err
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
	_, err := valueSize(v)
	return err
}

// valueSize measures a value in elements plus 64-byte units of string,
// failing once it is over the bounds.
func valueSize(v cty.Value) (int, error) {
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
	err := walk(v)
	return elems + bytes/64 + 1, err
}

// tooWide reports a tuple or object with so many elements that converting
// it to a list, set or map would take too long: the conversion compares the
// type of every element with every other.
func tooWide(v cty.Value) error {
	if !v.IsKnown() || v.IsNull() {
		return nil
	}
	t := v.Type()
	if !t.IsTupleType() && !t.IsObjectType() {
		return nil
	}
	if n := v.LengthInt(); n > maxUnifyElements {
		return fmt.Errorf("a collection of %d elements is too large; at most %d are allowed", n, maxUnifyElements)
	}
	return nil
}

// convert converts v to typ. Converting a tuple or object of n elements
// costs n² comparisons of element types, which are charged to b.
func (b *budget) convert(v cty.Value, typ cty.Type) (cty.Value, error) {
	if err := tooWide(v); err != nil {
		return cty.NilVal, err
	}
	if v.IsKnown() && !v.IsNull() && (v.Type().IsTupleType() || v.Type().IsObjectType()) {
		n := v.LengthInt()
		if err := b.spendWork(n * n); err != nil {
			return cty.NilVal, err
		}
	}
	return convert.Convert(v, typ)
}

// passThrough is p accepting any value, null, unknown or marked.
func passThrough(p function.Parameter) function.Parameter {
	return function.Parameter{
		Name:             p.Name,
		Description:      p.Description,
		Type:             cty.DynamicPseudoType,
		AllowNull:        true,
		AllowUnknown:     true,
		AllowDynamicType: true,
		AllowMarked:      true,
	}
}

// convertArgs converts arguments to fn's parameter types, as hcl would
// before a call, refusing values too wide to convert.
func convertArgs(fn function.Function, args []cty.Value, b *budget) ([]cty.Value, error) {
	params := fn.Params()
	out := make([]cty.Value, len(args))
	for i, a := range args {
		var p *function.Parameter
		switch {
		case i < len(params):
			p = &params[i]
		case fn.VarParam() != nil:
			p = fn.VarParam()
		default:
			out[i] = a
			continue
		}
		if p.Type == cty.DynamicPseudoType || a.IsNull() || !a.IsKnown() {
			out[i] = a
			continue
		}
		cv, err := b.convert(a, p.Type)
		if err != nil {
			return nil, function.NewArgError(i, err)
		}
		out[i] = cv
	}
	return out, nil
}
