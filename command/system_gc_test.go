package command

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mitchellh/cli"
)

func TestSystemGCCommand(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	fail := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		f := fail
		mu.Unlock()
		if f {
			http.Error(w, "no cluster leader", http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Nomad-Index", "7")
	}))
	defer srv.Close()

	ui := cli.NewMockUi()
	cmd := &SystemGCCommand{Meta: Meta{Ui: ui}}
	if code := cmd.Run([]string{"-address=" + srv.URL}); code != 0 {
		t.Fatalf("system gc exit = %d, stderr %q", code, ui.ErrorWriter.String())
	}
	if out := ui.OutputWriter.String(); out != "" {
		t.Errorf("system gc printed %q, want nothing", out)
	}
	if len(calls) != 1 || calls[0] != "PUT /v1/system/gc" {
		t.Errorf("requests = %v, want one PUT /v1/system/gc", calls)
	}

	mu.Lock()
	fail = true
	mu.Unlock()
	ui = cli.NewMockUi()
	cmd = &SystemGCCommand{Meta: Meta{Ui: ui}}
	if code := cmd.Run([]string{"-address=" + srv.URL}); code != 1 || !strings.Contains(ui.ErrorWriter.String(), "no cluster leader") {
		t.Errorf("system gc against a failing server: exit %d stderr %q, want 1 and the error", code, ui.ErrorWriter.String())
	}
	ui = cli.NewMockUi()
	cmd = &SystemGCCommand{Meta: Meta{Ui: ui}}
	if code := cmd.Run([]string{"-address=" + srv.URL, "extra"}); code != 1 {
		t.Errorf("system gc with an argument exit = %d, want 1", code)
	}
}
