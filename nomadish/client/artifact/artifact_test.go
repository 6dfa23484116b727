package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func testServer(t *testing.T) (*httptest.Server, []byte) {
	archive := tarGz(t, map[string]string{"bin/app": "#!/bin/sh\n", "README": "hi"})
	evil := tarGz(t, map[string]string{"../../escape": "x"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/app.tar.gz":
			w.Write(archive)
		case "/evil.tgz":
			w.Write(evil)
		case "/plain.txt":
			if r.Header.Get("X-Token") != "tok" {
				http.Error(w, "no token", http.StatusForbidden)
				return
			}
			w.Write([]byte("plain body"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, archive
}

func TestFetch(t *testing.T) {
	srv, archive := testServer(t)
	interp := func(s string) string { return strings.ReplaceAll(s, "${URL}", srv.URL) }
	sum := sha256.Sum256([]byte("plain body"))
	tok := map[string]string{"X-Token": "tok"}
	for _, tc := range []struct {
		name     string
		artifact *structs.TaskArtifact
		wantFile string
		wantBody string
	}{
		{"archive unpacks into local", &structs.TaskArtifact{GetterSource: "${URL}/app.tar.gz"}, "local/bin/app", "#!/bin/sh\n"},
		{"plain file with headers and checksum", &structs.TaskArtifact{GetterSource: "${URL}/plain.txt", RelativeDest: "local/conf",
			GetterHeaders: tok, GetterOptions: map[string]string{"checksum": "sha256:" + hex.EncodeToString(sum[:])}}, "local/conf/plain.txt", "plain body"},
		{"file mode", &structs.TaskArtifact{GetterSource: "${URL}/plain.txt", GetterMode: "file", RelativeDest: "local/x.txt", GetterHeaders: tok}, "local/x.txt", "plain body"},
		{"archive=false keeps the archive", &structs.TaskArtifact{GetterSource: "${URL}/app.tar.gz", GetterOptions: map[string]string{"archive": "false"}}, "local/app.tar.gz", string(archive)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alloc := t.TempDir()
			p := Paths{AllocDir: alloc, TaskDir: filepath.Join(alloc, "web")}
			if err := Fetch(context.Background(), tc.artifact, p, interp); err != nil {
				t.Fatalf("Fetch() error = %v", err)
			}
			b, err := os.ReadFile(filepath.Join(p.TaskDir, tc.wantFile))
			if err != nil || string(b) != tc.wantBody {
				t.Errorf("%s = %q, %v, want %q", tc.wantFile, b, err, tc.wantBody)
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	srv, _ := testServer(t)
	interp := func(s string) string { return strings.ReplaceAll(s, "${URL}", srv.URL) }
	for _, tc := range []struct {
		name     string
		artifact *structs.TaskArtifact
		want     string
	}{
		{"bad checksum", &structs.TaskArtifact{GetterSource: "${URL}/plain.txt", GetterHeaders: map[string]string{"X-Token": "tok"},
			GetterOptions: map[string]string{"checksum": "sha256:00"}}, "checksum mismatch"},
		{"http error", &structs.TaskArtifact{GetterSource: "${URL}/missing"}, "404"},
		{"escaping entry", &structs.TaskArtifact{GetterSource: "${URL}/evil.tgz"}, ErrEscapes.Error()},
		{"escaping destination", &structs.TaskArtifact{GetterSource: "${URL}/plain.txt", RelativeDest: "../../.."}, ErrEscapes.Error()},
		{"unsupported scheme", &structs.TaskArtifact{GetterSource: "git::https://example.com/repo"}, ErrUnsupported.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alloc := t.TempDir()
			p := Paths{AllocDir: alloc, TaskDir: filepath.Join(alloc, "web")}
			if err := Fetch(context.Background(), tc.artifact, p, interp); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Fetch() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFetchCaps(t *testing.T) {
	srv, _ := testServer(t)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("start"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	bomb := tarGz(t, map[string]string{"big": strings.Repeat("x", 4096)})
	bombSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(bomb) }))
	t.Cleanup(bombSrv.Close)

	oldTimeout, oldDownload, oldFile := DownloadTimeout, MaxDownloadBytes, MaxFileBytes
	t.Cleanup(func() { DownloadTimeout, MaxDownloadBytes, MaxFileBytes = oldTimeout, oldDownload, oldFile })
	cases := []struct {
		name   string
		src    string
		set    func()
		expect string
	}{
		{"download too large", srv.URL + "/app.tar.gz", func() { MaxDownloadBytes = 10 }, ErrTooLarge.Error()},
		{"unpacked file too large", bombSrv.URL + "/bomb.tar.gz", func() { MaxFileBytes = 1000 }, ErrTooLarge.Error()},
		{"download too slow", slow.URL + "/slow.txt", func() { DownloadTimeout = 200 * time.Millisecond }, "deadline exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			DownloadTimeout, MaxDownloadBytes, MaxFileBytes = oldTimeout, oldDownload, oldFile
			tc.set()
			alloc := t.TempDir()
			p := Paths{AllocDir: alloc, TaskDir: filepath.Join(alloc, "web")}
			start := time.Now()
			err := Fetch(context.Background(), &structs.TaskArtifact{GetterSource: tc.src}, p, func(s string) string { return s })
			if err == nil || !strings.Contains(err.Error(), tc.expect) {
				t.Errorf("Fetch() error = %v, want one containing %q", err, tc.expect)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("Fetch() took %s, want the cap to stop it", time.Since(start))
			}
		})
	}
}
