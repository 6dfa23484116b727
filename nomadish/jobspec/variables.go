package jobspec

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// envVarPrefix marks environment variables that set input variables.
const envVarPrefix = "NOMAD_VAR_"

// variable is one declared input variable.
type variable struct {
	name        string
	typ         cty.Type
	def         cty.Value
	hasDefault  bool
	value       cty.Value
	set         bool
	declRange   hcl.Range
	validations []*validation
	// typed is set when the declaration gave a type.
	typed bool
}

// inferType gives an untyped variable its default's type when that is a
// primitive, so "-var n=5" is a number if the default is one.
func (v *variable) inferType() {
	if v.typed || !v.hasDefault || v.def.IsNull() {
		return
	}
	if t := v.def.Type(); t.IsPrimitiveType() {
		v.typ = t
	}
}

type validation struct {
	condition hcl.Expression
	message   hcl.Expression
	rng       hcl.Range
}

var variableSpec = newSpec("type default description sensitive nullable", "validation")
var validationSpec = newSpec("condition error_message", "")

// variables holds the declared input variables by name.
type variables map[string]*variable

func (vs variables) declare(d *decoder, v *variable) {
	if prev, dup := vs[v.name]; dup {
		d.errorf(v.declRange.Ptr(), "Duplicate variable",
			"Variable %q was already declared at %s.", v.name, prev.declRange)
		return
	}
	vs[v.name] = v
}

// decodeVariableBlock reads a `variable "name" { ... }` block.
func (vs variables) decodeVariableBlock(d *decoder, b *hcl.Block) {
	name := label(b)
	if !hclsyntax.ValidIdentifier(name) {
		d.errorf(labelRange(b), "Invalid variable name", "%q is not a valid identifier.", name)
		return
	}
	v := &variable{name: name, typ: cty.DynamicPseudoType, declRange: b.DefRange}
	c, diags := b.Body.Content(variableSpec.schema)
	d.diags = append(d.diags, diags...)
	if c == nil {
		return
	}
	if a, ok := c.Attributes["type"]; ok {
		t, diags := typeexpr.TypeConstraint(a.Expr)
		d.diags = append(d.diags, diags...)
		if !diags.HasErrors() {
			v.typ, v.typed = t, true
		}
	}
	if a, ok := c.Attributes["default"]; ok {
		val, diags := a.Expr.Value(nil)
		d.diags = append(d.diags, diags...)
		if !diags.HasErrors() {
			cv, err := d.budget.convert(val, v.typ)
			if err != nil {
				d.errorf(a.Expr.Range().Ptr(), "Invalid default value for variable",
					"This default value is not compatible with the variable's type constraint: %s.", err)
			} else {
				v.def, v.hasDefault = cv, true
			}
		}
	}
	for _, vb := range c.Blocks {
		vc, diags := vb.Body.Content(validationSpec.schema)
		d.diags = append(d.diags, diags...)
		cond, okc := vc.Attributes["condition"]
		msg, okm := vc.Attributes["error_message"]
		if !okc || !okm {
			d.errorf(vb.DefRange.Ptr(), "Invalid validation block", "A validation block needs both condition and error_message.")
			continue
		}
		v.validations = append(v.validations, &validation{condition: cond.Expr, message: msg.Expr, rng: vb.DefRange})
	}
	v.inferType()
	vs.declare(d, v)
}

// decodeVariablesBlock reads a `variables { name = default }` block.
func (vs variables) decodeVariablesBlock(d *decoder, b *hcl.Block) {
	attrs, diags := b.Body.JustAttributes()
	d.diags = append(d.diags, diags...)
	for _, a := range sortedAttrs(attrs) {
		val, diags := a.Expr.Value(nil)
		d.diags = append(d.diags, diags...)
		v := &variable{
			name: a.Name, typ: cty.DynamicPseudoType,
			def: val, hasDefault: !diags.HasErrors(),
			declRange: a.Range,
		}
		v.inferType()
		vs.declare(d, v)
	}
}

// assign sets a variable's value from an external source: src names the
// source in messages; raw is the text given.
func (vs variables) assignRaw(d *decoder, name, raw, src string, mustExist bool) {
	v, ok := vs[name]
	if !ok {
		if mustExist {
			d.errorf(&hcl.Range{Filename: src}, "Undefined variable",
				"A value was given for variable %q (%s), but the job file declares no such variable; "+
					"declare it with a `variable %q {}` block.", name, src, name)
		}
		return
	}
	untypedScalar := v.typ == cty.DynamicPseudoType && (!v.hasDefault || v.def.IsNull() || v.def.Type().IsPrimitiveType())
	if untypedScalar || v.typ.IsPrimitiveType() {
		val, err := convert.Convert(cty.StringVal(raw), v.typ)
		if err != nil {
			d.errorf(v.declRange.Ptr(), "Invalid value for variable",
				"The value %q given for variable %q (%s) is not valid: %s.", raw, name, src, err)
			return
		}
		v.value, v.set = val, true
		return
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), src, hcl.InitialPos)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return
	}
	val, diags := expr.Value(nil)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return
	}
	vs.assign(d, v, val, expr.Range(), src)
}

func (vs variables) assign(d *decoder, v *variable, val cty.Value, rng hcl.Range, src string) {
	cv, err := d.budget.convert(val, v.typ)
	if err != nil {
		d.errorf(rng.Ptr(), "Invalid value for variable",
			"The value given for variable %q (%s) is not valid: %s.", v.name, src, err)
		return
	}
	v.value, v.set = cv, true
}

// loadVarFile applies the assignments in one -var-file.
func (vs variables) loadVarFile(d *decoder, path string) {
	st, err := os.Stat(path)
	if err != nil {
		d.errorf(&hcl.Range{Filename: path}, "Failed to read variable file", "%s", err)
		return
	}
	if st.Size() > maxFileSize {
		d.errorf(&hcl.Range{Filename: path}, "Variable file too large", "%s is %d bytes; the limit is 1 MiB.", path, st.Size())
		return
	}
	src, err := os.ReadFile(path)
	if err != nil {
		d.errorf(&hcl.Range{Filename: path}, "Failed to read variable file", "%s", err)
		return
	}
	if err := checkNesting(src, path); err != nil {
		d.diags = append(d.diags, err)
		return
	}
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(path, ".json") {
		f, diags = hcljson.Parse(src, path)
	} else {
		f, diags = parseFile(src, path)
	}
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return
	}
	attrs, diags := f.Body.JustAttributes()
	d.diags = append(d.diags, diags...)
	for _, a := range sortedAttrs(attrs) {
		v, ok := vs[a.Name]
		if !ok {
			d.errorf(a.NameRange.Ptr(), "Undefined variable",
				"A value was given for variable %q, but the job file declares no such variable.", a.Name)
			continue
		}
		val, diags := a.Expr.Value(nil)
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		vs.assign(d, v, val, a.Expr.Range(), path)
	}
}

// collect applies values in increasing precedence: environment, var files,
// then -var arguments.
func (vs variables) collect(d *decoder, envs, varFiles, argVars []string) {
	for _, kv := range envs {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, envVarPrefix) {
			continue
		}
		name := strings.TrimPrefix(k, envVarPrefix)
		vs.assignRaw(d, name, val, "environment variable "+k, false)
	}
	for _, p := range varFiles {
		vs.loadVarFile(d, p)
	}
	for _, kv := range argVars {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			d.errorf(&hcl.Range{Filename: "-var"}, "Invalid -var option",
				"The -var option %q must be of the form name=value.", kv)
			continue
		}
		vs.assignRaw(d, strings.TrimSpace(k), val, fmt.Sprintf("-var %q", k), true)
	}
}

// values returns the object that `var` refers to, reporting unset
// variables and failed validations.
func (vs variables) values(d *decoder, funcsCtx *hcl.EvalContext) cty.Value {
	out := make(map[string]cty.Value, len(vs))
	for _, name := range vs.names() {
		v := vs[name]
		switch {
		case v.set:
			out[name] = v.value
		case v.hasDefault:
			out[name] = v.def
		default:
			d.errorf(v.declRange.Ptr(), fmt.Sprintf("Unset variable %q", name),
				"A used variable must be set or have a default value; set it with -var %s=..., "+
					"a -var-file, or the %s%s environment variable.", name, envVarPrefix, name)
			out[name] = cty.DynamicVal
		}
	}
	for _, name := range vs.names() {
		v := vs[name]
		for _, val := range v.validations {
			ctx := funcsCtx.NewChild()
			ctx.Variables = map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{name: out[name]})}
			res, diags := val.condition.Value(ctx)
			d.diags = append(d.diags, diags...)
			if diags.HasErrors() || !res.IsKnown() {
				continue
			}
			res, err := convert.Convert(res, cty.Bool)
			if err != nil || res.IsNull() {
				d.errorf(val.condition.Range().Ptr(), "Invalid variable validation result",
					"The validation condition must be a boolean.")
				continue
			}
			if res.True() {
				continue
			}
			msg := "The value is not valid."
			if m, diags := val.message.Value(ctx); !diags.HasErrors() && m.Type() == cty.String && m.IsKnown() && !m.IsNull() {
				msg = m.AsString()
			}
			d.errorf(val.condition.Range().Ptr(), "Invalid value for variable",
				"%s\n\nThis was checked by the validation rule at %s.", msg, val.rng)
		}
	}
	return cty.ObjectVal(out)
}

func (vs variables) names() []string {
	out := make([]string, 0, len(vs))
	for k := range vs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sortedAttrs orders attributes by position so diagnostics are stable.
func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Range.Start.Byte < out[j].Range.Start.Byte })
	return out
}

// evalLocals evaluates locals in dependency order, reporting cycles.
func evalLocals(d *decoder, attrs []*hcl.Attribute, ctx *hcl.EvalContext) cty.Value {
	byName := make(map[string]*hcl.Attribute, len(attrs))
	for _, a := range attrs {
		byName[a.Name] = a
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make(map[string]int, len(attrs))
	deps := make(map[string][]string, len(attrs))
	var order []*hcl.Attribute
	// Depth-first, with an explicit stack so long chains cannot overflow.
	type frame struct {
		a    *hcl.Attribute
		deps []string
	}
	for _, start := range attrs {
		if state[start.Name] != unvisited {
			continue
		}
		deps[start.Name] = localDeps(start.Expr, byName)
		stack := []*frame{{a: start, deps: deps[start.Name]}}
		state[start.Name] = visiting
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if len(top.deps) == 0 {
				stack = stack[:len(stack)-1]
				state[top.a.Name] = done
				order = append(order, top.a)
				continue
			}
			dep := top.deps[0]
			top.deps = top.deps[1:]
			switch state[dep] {
			case visiting:
				d.errorf(top.a.Expr.Range().Ptr(), "Cycle in locals",
					"local.%s refers to itself, directly or through other locals.", top.a.Name)
			case unvisited:
				state[dep] = visiting
				deps[dep] = localDeps(byName[dep].Expr, byName)
				stack = append(stack, &frame{a: byName[dep], deps: deps[dep]})
			}
		}
	}
	vals := make(map[string]cty.Value, len(attrs))
	if d.diags.HasErrors() {
		ctx.Variables["local"] = cty.ObjectVal(vals)
		return cty.ObjectVal(vals)
	}
	for _, a := range order {
		// Only the locals a expression uses are in scope, so that each
		// evaluation costs what it refers to, not all locals so far.
		scope := make(map[string]cty.Value, len(deps[a.Name]))
		for _, dep := range deps[a.Name] {
			scope[dep] = vals[dep]
		}
		ctx.Variables["local"] = cty.ObjectVal(scope)
		v, diags := a.Expr.Value(ctx)
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() {
			v = cty.DynamicVal
		} else if err := checkSize(v); err != nil {
			d.errorf(a.Expr.Range().Ptr(), "Local value too large", "local.%s: %s.", a.Name, err)
			v = cty.DynamicVal
		}
		vals[a.Name] = v
	}
	ctx.Variables["local"] = cty.ObjectVal(vals)
	return cty.ObjectVal(vals)
}

// localDeps lists the declared locals that expr refers to.
func localDeps(expr hcl.Expression, declared map[string]*hcl.Attribute) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range expr.Variables() {
		if t.RootName() != "local" || len(t) < 2 {
			continue
		}
		var name string
		switch step := t[1].(type) {
		case hcl.TraverseAttr:
			name = step.Name
		case hcl.TraverseIndex:
			if step.Key.Type() == cty.String && step.Key.IsKnown() && !step.Key.IsNull() {
				name = step.Key.AsString()
			}
		}
		if _, ok := declared[name]; ok && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}
