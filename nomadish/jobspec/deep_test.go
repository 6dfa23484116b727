package jobspec

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestDeepInputs feeds inputs that would make a recursive parser overflow
// its stack; each must be rejected with an error.
func TestDeepInputs(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unary not", "job \"e\" { region = " + strings.Repeat("!", 50000) + "true }", "Too many operators"},
		{"unary minus", "job \"e\" { region = " + strings.Repeat("-", 50000) + "1 }", "Too many operators"},
		{"conditionals", "job \"e\" { region = " + strings.Repeat("true ? 1 : ", 20000) + "2 }", "Too many operators"},
		{"parens", "job \"e\" { region = " + strings.Repeat("(", 50000) + " }", "Nesting too deep"},
		{"templates", "job \"e\" { region = " + strings.Repeat(`"${`, 20000) + " }", "Nesting too deep"},
		{"json arrays", `{"job": {"e": {"meta": ` + strings.Repeat("[", 50000) + "}}}", "Nesting too deep"},
		{"json template", `{"job": {"e": {"region": "${` + strings.Repeat("!", 50000) + `true}"}}}`, "Too many operators"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(&ParseConfig{Path: "deep.hcl", Body: []byte(tc.src)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%s) error = %.200v, want %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestManyLocals(t *testing.T) {
	var b strings.Builder
	b.WriteString("locals {\n")
	const n = 5000
	for i := n; i > 0; i-- {
		fmt.Fprintf(&b, "  l%d = local.l%d\n", i, i-1)
	}
	b.WriteString("  l0 = \"x\"\n}\njob \"e\" { region = local.l" + fmt.Sprint(n) + " }\n")
	start := time.Now()
	job, err := Parse(&ParseConfig{Path: "locals.hcl", Body: []byte(b.String())})
	if err != nil {
		t.Fatalf("Parse(%d chained locals) error = %v", n, err)
	}
	if job.Region != "x" {
		t.Errorf("Parse(%d chained locals).Region = %q, want %q", n, job.Region, "x")
	}
	t.Logf("%d chained locals took %s", n, time.Since(start))
}

func TestWorkBudget(t *testing.T) {
	src := `locals {
  big = [for i in range(1000) : format("%0500d", i)]
}
job "e" {
  region = length([for a in range(1000) : [for b in range(10) : length(join("", local.big))]])
}`
	_, err := Parse(&ParseConfig{Path: "work.hcl", Body: []byte(src)})
	if err == nil || !strings.Contains(err.Error(), "functions process more than") {
		t.Errorf("Parse(repeated work on a large value) error = %v, want the work limit", err)
	}
}
