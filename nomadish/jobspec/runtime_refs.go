package jobspec

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Job files refer to values only known on the client at run time, such as
// ${node.unique.name}, ${attr.kernel.name}, ${meta.rack} or
// ${NOMAD_ALLOC_INDEX}. Any reference whose root is not var or local is kept
// as its own text wrapped in ${...}, for the client to interpolate later.
//
// runtimeRefs finds every such reference in the file and builds, for each
// root name, a value whose attributes lead to those strings: attr.kernel.name
// evaluates to "${attr.kernel.name}". Iteration variables of for expressions
// and dynamic blocks live in child scopes and so take precedence.
func runtimeRefs(body *hclsyntax.Body, src []byte) map[string]cty.Value {
	root := &refNode{}
	root.collect(body, src)
	return root.values()
}

// collect adds the runtime references found under node.
func (root *refNode) collect(node hclsyntax.Node, src []byte) {
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		st, ok := n.(*hclsyntax.ScopeTraversalExpr)
		if !ok {
			return nil
		}
		switch st.Traversal.RootName() {
		case "var", "local":
			return nil
		}
		root.add(st.Traversal, src)
		return nil
	})
}

func (root *refNode) values() map[string]cty.Value {
	out := make(map[string]cty.Value, len(root.children))
	for name, c := range root.children {
		out[name] = c.value()
	}
	return out
}

// maxRefDepth bounds the depth of the placeholder values.
const maxRefDepth = 32

type refNode struct {
	text     string
	children map[string]*refNode
}

func (r *refNode) add(t hcl.Traversal, src []byte) {
	cur := r
	start := t.SourceRange().Start.Byte
	for i, step := range t {
		if i >= maxRefDepth {
			return
		}
		var name string
		switch s := step.(type) {
		case hcl.TraverseRoot:
			name = s.Name
		case hcl.TraverseAttr:
			name = s.Name
		case hcl.TraverseIndex:
			if s.Key.Type() != cty.String || !s.Key.IsKnown() || s.Key.IsNull() {
				return
			}
			name = s.Key.AsString()
		default:
			return
		}
		if cur.children == nil {
			cur.children = map[string]*refNode{}
		}
		next, ok := cur.children[name]
		if !ok {
			next = &refNode{}
			cur.children[name] = next
		}
		cur = next
		end := step.SourceRange().End.Byte
		if start >= 0 && end <= len(src) && start <= end {
			cur.text = "${" + string(src[start:end]) + "}"
		}
	}
}

func (r *refNode) value() cty.Value {
	if len(r.children) == 0 {
		return cty.StringVal(r.text)
	}
	attrs := make(map[string]cty.Value, len(r.children))
	for k, c := range r.children {
		attrs[k] = c.value()
	}
	return cty.ObjectVal(attrs)
}

// maxJSONForDepth bounds how deeply for expressions nest inside one string
// of a JSON job file, where they cannot be counted as they run.
const maxJSONForDepth = 2

// jsonRuntimeRefs finds runtime references in the template strings of a
// job file in JSON syntax, and rejects strings whose for expressions nest
// too deeply.
func jsonRuntimeRefs(src []byte, filename string) (map[string]cty.Value, *hcl.Diagnostic) {
	var doc any
	if err := json.Unmarshal(src, &doc); err != nil {
		return nil, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Invalid JSON", Detail: err.Error(),
			Subject: &hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos},
		}
	}
	root := &refNode{}
	var diag *hcl.Diagnostic
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(k)
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			if !strings.Contains(v, "${") && !strings.Contains(v, "%{") {
				return
			}
			tokens, _ := hclsyntax.LexTemplate([]byte(v), filename, hcl.InitialPos)
			if d := checkTokens(tokens); d != nil {
				if diag == nil {
					diag = d
					diag.Subject = &hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}
				}
				return
			}
			expr, diags := hclsyntax.ParseTemplate([]byte(v), filename, hcl.InitialPos)
			if diags.HasErrors() {
				return
			}
			if forDepth(expr) > maxJSONForDepth && diag == nil {
				diag = &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Nesting too deep",
					Detail:  fmt.Sprintf("For expressions in JSON job files may nest at most %d deep.", maxJSONForDepth),
					Subject: &hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos},
				}
			}
			root.collect(expr, []byte(v))
		}
	}
	walk(doc)
	if diag != nil {
		return nil, diag
	}
	return root.values(), nil
}

// forDepth is the deepest nesting of for expressions in node.
func forDepth(node hclsyntax.Node) int {
	w := &forWalker{}
	_ = hclsyntax.Walk(node, w)
	return w.max
}

type forWalker struct{ depth, max int }

func (w *forWalker) Enter(n hclsyntax.Node) hcl.Diagnostics {
	if _, ok := n.(*hclsyntax.ForExpr); ok {
		w.depth++
		if w.depth > w.max {
			w.max = w.depth
		}
	}
	return nil
}

func (w *forWalker) Exit(n hclsyntax.Node) hcl.Diagnostics {
	if _, ok := n.(*hclsyntax.ForExpr); ok {
		w.depth--
	}
	return nil
}
