package jobspec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/dynblock"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// maxFileSize is the largest job or variable file accepted.
const maxFileSize = 1 << 20

// maxNesting bounds how deeply brackets may nest in a file.
const maxNesting = 256

// ErrTooLarge is returned for a job file over 1 MiB.
var ErrTooLarge = errors.New("job file is larger than 1 MiB")

// ParseConfig says what to parse and with which inputs.
type ParseConfig struct {
	// Path is the file name used in diagnostics and the base directory of file().
	Path string
	// Body is the file contents; if nil, Path is read.
	Body []byte
	// ArgVars are "-var" values, each "name=value".
	ArgVars []string
	// VarFiles are "-var-file" paths.
	VarFiles []string
	// Envs are os.Environ()-style; NOMAD_VAR_<name>=value sets a variable.
	Envs []string
	// AllowFS allows file(), fileset(), templatefile() and friends.
	AllowFS bool
}

var fileSpec = newSpec("", "variable:name variables locals job:name")

// Parse parses an HCL2 job file into a canonicalized, not yet validated, job.
// Errors name file:line:col.
func Parse(cfg *ParseConfig) (*structs.Job, error) {
	if cfg == nil {
		return nil, errors.New("jobspec: nil ParseConfig")
	}
	src := cfg.Body
	if src == nil {
		st, err := os.Stat(cfg.Path)
		if err != nil {
			return nil, fmt.Errorf("read job file: %w", err)
		}
		if st.Size() > maxFileSize {
			return nil, fmt.Errorf("%s: %w (%d bytes)", cfg.Path, ErrTooLarge, st.Size())
		}
		src, err = os.ReadFile(cfg.Path)
		if err != nil {
			return nil, fmt.Errorf("read job file: %w", err)
		}
	}
	if len(src) > maxFileSize {
		return nil, fmt.Errorf("%s: %w (%d bytes)", cfg.Path, ErrTooLarge, len(src))
	}
	job, diags := parse(cfg, src)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	job.Canonicalize()
	return job, nil
}

// isJSON reports whether a job file is in HCL's JSON syntax: its first
// non-blank character is "{".
func isJSON(src []byte) bool {
	for _, c := range src {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}

func parseFile(src []byte, name string) (*hcl.File, hcl.Diagnostics) {
	return hclsyntax.ParseConfig(src, name, hcl.InitialPos)
}

// recoverPanics turns a panic inside the parser into an error; the fuzz
// test turns it off to see them.
var recoverPanics = true

func parse(cfg *ParseConfig, src []byte) (job *structs.Job, diags hcl.Diagnostics) {
	defer func() {
		if !recoverPanics {
			return
		}
		if r := recover(); r != nil {
			job = nil
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Internal error",
				Detail:   fmt.Sprintf("the job file could not be parsed: %v", r),
				Subject:  &hcl.Range{Filename: cfg.Path, Start: hcl.InitialPos, End: hcl.InitialPos},
			})
		}
	}()
	if d := checkNesting(src, cfg.Path); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	b := newBudget()
	var (
		f     *hcl.File
		refs  map[string]cty.Value
		jdiag *hcl.Diagnostic
	)
	if isJSON(src) {
		f, diags = hcljson.Parse(src, cfg.Path)
		if diags.HasErrors() {
			return nil, diags
		}
		refs, jdiag = jsonRuntimeRefs(src, cfg.Path)
		if jdiag != nil {
			return nil, hcl.Diagnostics{jdiag}
		}
	} else {
		f, diags = parseFile(src, cfg.Path)
		if diags.HasErrors() {
			return nil, diags
		}
		body, ok := f.Body.(*hclsyntax.Body)
		if !ok {
			return nil, diags
		}
		limitIterations(body, b)
		refs = runtimeRefs(body, src)
	}
	d := &decoder{budget: b}
	content, cdiags := f.Body.Content(fileSpec.schema)
	d.diags = append(d.diags, cdiags...)
	if content == nil {
		return nil, d.diags
	}

	baseDir := filepath.Dir(cfg.Path)
	funcs := functions(baseDir, cfg.AllowFS, b)
	funcCtx := &hcl.EvalContext{Functions: funcs}

	vars := variables{}
	var localAttrs []*hcl.Attribute
	var jobBlocks []*hcl.Block
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			vars.decodeVariableBlock(d, b)
		case "variables":
			vars.decodeVariablesBlock(d, b)
		case "locals":
			attrs, ldiags := b.Body.JustAttributes()
			d.diags = append(d.diags, ldiags...)
			localAttrs = append(localAttrs, sortedAttrs(attrs)...)
		case "job":
			jobBlocks = append(jobBlocks, b)
		}
	}
	seenLocal := map[string]*hcl.Attribute{}
	for _, a := range localAttrs {
		if prev, dup := seenLocal[a.Name]; dup {
			d.errorf(a.NameRange.Ptr(), "Duplicate local value",
				"local.%s was already defined at %s.", a.Name, prev.NameRange)
		}
		seenLocal[a.Name] = a
	}
	if d.diags.HasErrors() {
		return nil, d.diags
	}
	vars.collect(d, cfg.Envs, cfg.VarFiles, cfg.ArgVars)
	if d.diags.HasErrors() {
		return nil, d.diags
	}
	varVal := vars.values(d, funcCtx)
	if d.diags.HasErrors() {
		return nil, d.diags
	}

	ctx := &hcl.EvalContext{Functions: funcs, Variables: refs}
	ctx.Variables["var"] = varVal
	evalLocals(d, localAttrs, ctx)
	if d.diags.HasErrors() {
		return nil, d.diags
	}
	d.ctx = ctx

	if len(jobBlocks) == 0 {
		d.errorf(&hcl.Range{Filename: cfg.Path, Start: hcl.InitialPos, End: hcl.InitialPos}, "Missing job block", "A job file needs one job block.")
		return nil, d.diags
	}
	for _, b := range jobBlocks[1:] {
		d.errorf(b.DefRange.Ptr(), "Duplicate job block",
			"Only one job block is allowed; the first was defined at %s.", jobBlocks[0].DefRange)
	}
	jb := *jobBlocks[0]
	jb.Body = dynblock.Expand(wrapBody(jb.Body), ctx)
	job = d.decodeJob(&jb)
	return job, d.diags
}

// checkNesting rejects files whose brackets nest deeper than maxNesting,
// which would only make the parser recurse without bound. For a file in
// native syntax it counts tokens, so brackets in strings and comments do
// not count; a JSON file is scanned byte by byte.
func checkNesting(src []byte, name string) *hcl.Diagnostic {
	if !isJSON(src) {
		tokens, _ := hclsyntax.LexConfig(src, name, hcl.InitialPos)
		return checkTokens(tokens)
	}
	depth, line, col := 0, 1, 1
	for _, c := range src {
		switch c {
		case '{', '[', '(':
			depth++
			if depth > maxNesting {
				pos := hcl.Pos{Line: line, Column: col}
				return nestingDiag(&hcl.Range{Filename: name, Start: pos, End: pos})
			}
		case '}', ']', ')':
			if depth > 0 {
				depth--
			}
		case '\n':
			line++
			col = 0
		}
		col++
	}
	return nil
}

// maxOperators bounds the unary and conditional operators in one file or
// template: the parser recurses once for each.
const maxOperators = 10000

// checkTokens bounds bracket depth and the number of operators that make
// the parser recurse.
func checkTokens(tokens hclsyntax.Tokens) *hcl.Diagnostic {
	depth, ops := 0, 0
	for i := range tokens {
		tok := &tokens[i]
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc:
			depth++
			if depth > maxNesting {
				return nestingDiag(&tok.Range)
			}
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenTemplateSeqEnd, hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc:
			if depth > 0 {
				depth--
			}
		case hclsyntax.TokenBang, hclsyntax.TokenMinus, hclsyntax.TokenQuestion:
			ops++
			if ops > maxOperators {
				return &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Too many operators",
					Detail:   fmt.Sprintf("The file has more than %d unary or conditional operators.", maxOperators),
					Subject:  &tok.Range,
				}
			}
		}
	}
	return nil
}

func nestingDiag(rng *hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Nesting too deep",
		Detail:   fmt.Sprintf("Brackets nest more than %d levels deep.", maxNesting),
		Subject:  rng,
	}
}

// diagError renders error diagnostics as one error, each line
// "file:line:col: summary: detail".
func diagError(diags hcl.Diagnostics) error {
	var errs []string
	seen := map[string]bool{}
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		if d.Subject != nil {
			s := d.Subject
			if s.Start.Line > 0 {
				msg = fmt.Sprintf("%s:%d:%d: %s", s.Filename, s.Start.Line, s.Start.Column, msg)
			} else if s.Filename != "" {
				msg = s.Filename + ": " + msg
			}
		}
		if !seen[msg] {
			seen[msg] = true
			errs = append(errs, msg)
		}
	}
	return errors.New(strings.Join(errs, "\n"))
}
