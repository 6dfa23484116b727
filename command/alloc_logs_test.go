package command

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestAllocLogs(t *testing.T) {
	const stdout = "one\ntwo\nthree\nfour\n"
	tests := []struct {
		name      string
		args      []string
		twoTasks  bool
		wantCode  int
		wantLog   string
		wantErr   string
		wantQuery string
	}{
		{name: "stdout", args: []string{"0af9"}, wantLog: stdout,
			wantQuery: "offset=0&origin=start&plain=true&task=redis&type=stdout"},
		{name: "stderr with task argument", args: []string{"-stderr", allocID, "redis"}, wantLog: "oops\n",
			wantQuery: "offset=0&origin=start&plain=true&task=redis&type=stderr"},
		{name: "tail lines", args: []string{"-tail", "-n", "2", "0af9"}, wantLog: "three\nfour\n",
			wantQuery: "offset=240&origin=end&plain=true&task=redis&type=stdout"},
		{name: "tail bytes", args: []string{"-c", "5", "0af9"}, wantLog: "four\n",
			wantQuery: "offset=5&origin=end&plain=true&task=redis&type=stdout"},
		{name: "follow", args: []string{"-f", "-task", "redis", "0af9"}, wantLog: stdout,
			wantQuery: "follow=true&offset=0&origin=start&plain=true&task=redis&type=stdout"},
		{name: "unknown task", args: []string{"0af9", "web"}, wantCode: 1,
			wantErr: "Could not find task named \"web\" in allocation \"0af996ed\"; its tasks are: redis\n"},
		{name: "which task", args: []string{"0af9"}, twoTasks: true, wantCode: 1,
			wantErr: "Allocation \"0af996ed\" is running the following tasks:\n  * redis\n  * sidecar\n\nPlease specify the task.\n"},
		{name: "no log", args: []string{"0af9", "redis"}, twoTasks: true, wantCode: 1,
			wantErr: "Error reading stdout log of task \"redis\": Unexpected response code: 404 (log not found)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := testCluster(t)
			f.logs[allocID+"/redis/stdout"] = stdout
			f.logs[allocID+"/redis/stderr"] = "oops\n"
			if tc.twoTasks {
				delete(f.logs, allocID+"/redis/stdout")
				tg := f.allocs[allocID].Job.TaskGroups[0]
				tg.Tasks = append(tg.Tasks, &structs.Task{Name: "sidecar", Driver: "docker"})
			}
			var logs bytes.Buffer
			code, _, errOut := runCmd(t, func(ui cli.Ui) cli.Command {
				return &AllocLogsCommand{Meta: metaFor(ui), Stdout: &logs}
			}, "", append([]string{"-address=" + addr}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit = %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			if logs.String() != tc.wantLog {
				t.Errorf("log = %q, want %q", logs.String(), tc.wantLog)
			}
			if errOut != tc.wantErr {
				t.Errorf("stderr = %q, want %q", errOut, tc.wantErr)
			}
			if tc.wantQuery != "" && (len(f.logQueries) != 1 || f.logQueries[0] != tc.wantQuery) {
				t.Errorf("log queries = %q, want [%q]", f.logQueries, tc.wantQuery)
			}
		})
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		in   string
		n    int64
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\n", 5, "a\nb\n"},
		{"", 3, ""},
		{"partial line\nx\n", 1, "x\n"},
	}
	for _, tc := range tests {
		if got := string(lastLines([]byte(tc.in), tc.n)); got != tc.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// slowReader yields its chunks with a pause between them.
type slowReader struct {
	chunks []string
	pause  time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	if r.pause > 0 {
		time.Sleep(r.pause)
	}
	n := copy(p, r.chunks[0])
	r.chunks = r.chunks[1:]
	return n, nil
}

func TestCopyLogFollowTail(t *testing.T) {
	// The first burst is cut to the last line; what comes after the burst
	// settles is printed whole.
	r := &slowReader{chunks: []string{"old 1\nold 2\nold 3\n", "new 1\nnew 2\n"}}
	var out bytes.Buffer
	first := r.chunks[0]
	r.chunks = r.chunks[1:]
	combined := io.MultiReader(strings.NewReader(first), &delayed{r: r, delay: tailSettle + 200*time.Millisecond})
	if err := copyLog(&out, combined, 1, true); err != nil {
		t.Fatalf("copyLog() error = %v", err)
	}
	if got, want := out.String(), "old 3\nnew 1\nnew 2\n"; got != want {
		t.Errorf("copyLog() wrote %q, want %q", got, want)
	}
}

// delayed waits once before its first read.
type delayed struct {
	r     io.Reader
	delay time.Duration
	done  bool
}

func (d *delayed) Read(p []byte) (int, error) {
	if !d.done {
		time.Sleep(d.delay)
		d.done = true
	}
	return d.r.Read(p)
}
