package jobspec

import (
	"strings"
	"testing"
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
