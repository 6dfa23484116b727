// Package artifact fetches a task's artifact blocks into its directory
// before the task starts: http(s) and file sources, with checksum
// verification and unpacking of zip, tar, tar.gz/tgz, tar.bz2 and gz
// archives, as go-getter does by default. Other go-getter sources (git::,
// s3::, ...) are reported as unsupported.
package artifact

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Errors callers may branch on.
// Caps on what one artifact may cost, as Nomad's client artifact settings
// (http_read_timeout, http_max_size) bound it. Variables so tests can lower them.
var (
	// DownloadTimeout bounds the download of one artifact.
	DownloadTimeout = 30 * time.Minute
	// MaxDownloadBytes bounds the size of one downloaded artifact.
	MaxDownloadBytes int64 = 1 << 30
	// MaxFileBytes bounds each file written out of an archive, against
	// archives that expand far beyond their size.
	MaxFileBytes int64 = 1 << 30
)

// ErrTooLarge is returned when an artifact or an unpacked file passes a cap.
var ErrTooLarge = errors.New("artifact is larger than allowed")

var (
	// ErrUnsupported: the source's scheme is not one this client fetches.
	ErrUnsupported = errors.New("unsupported artifact source")
	// ErrEscapes: a destination or archive entry is outside the alloc dir.
	ErrEscapes = errors.New("path escapes the allocation directory")
	// ErrHostFile: a file source outside the allocation directory.
	ErrHostFile = errors.New("file artifact sources must be within the allocation directory (client artifact { disable_filesystem_isolation = true } allows host paths)")
)

// Paths locate a task on the host.
type Paths struct {
	AllocDir string
	TaskDir  string
	// HostFiles lets file sources read any path of the host. Without it a
	// file source (absolute, or relative to the task directory) must lie
	// within the allocation directory, as Nomad's artifact sandbox has it;
	// the client's artifact { disable_filesystem_isolation = true } sets it.
	HostFiles bool
}

// Fetch downloads one artifact. interpolate resolves ${...} in the source,
// destination and options.
func Fetch(ctx context.Context, a *structs.TaskArtifact, p Paths, interpolate func(string) string) error {
	src := interpolate(a.GetterSource)
	opts := map[string]string{}
	for k, v := range a.GetterOptions {
		opts[k] = interpolate(v)
	}
	rel := a.RelativeDest
	if rel == "" {
		rel = "local/"
	}
	dest := filepath.Join(p.TaskDir, interpolate(rel))
	if !within(p.AllocDir, dest) {
		return fmt.Errorf("%w: %s", ErrEscapes, rel)
	}

	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	defer cancel()
	tmp, name, err := download(ctx, src, a.GetterHeaders, interpolate, p)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if sum := opts["checksum"]; sum != "" {
		if err := verify(tmp, sum); err != nil {
			return err
		}
	}
	kind := ""
	if opts["archive"] != "false" {
		kind = archiveKind(name)
	}
	if a.GetterMode == "file" {
		// A file destination: the artifact lands at dest itself.
		return copyFile(tmp, dest)
	}
	// Modes "any" (the default) and "dir": dest is a directory that
	// archives unpack into and plain files land in.
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	switch kind {
	case "":
		return copyFile(tmp, filepath.Join(dest, name))
	case "zip":
		return unzip(tmp, dest)
	case "gz":
		return gunzipFile(tmp, filepath.Join(dest, strings.TrimSuffix(name, ".gz")))
	default:
		return untar(tmp, dest, kind)
	}
}

// download fetches src to a temporary file and returns it with the
// source's file name.
func download(ctx context.Context, src string, headers map[string]string, interpolate func(string) string, paths Paths) (string, string, error) {
	if i := strings.Index(src, "::"); i > 0 && !strings.HasPrefix(src[i+2:], "http") {
		return "", "", fmt.Errorf("%w: %s", ErrUnsupported, src)
	}
	src = strings.TrimPrefix(strings.TrimPrefix(src, "http::"), "https::")
	u, err := url.Parse(src)
	if err != nil {
		return "", "", fmt.Errorf("parse artifact source: %w", err)
	}
	var body io.ReadCloser
	name := path.Base(u.Path)
	switch u.Scheme {
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return "", "", err
		}
		for k, v := range headers {
			req.Header.Set(k, interpolate(v))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", "", fmt.Errorf("fetch %s: %w", src, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return "", "", fmt.Errorf("fetch %s: %s", src, resp.Status)
		}
		body = resp.Body
	case "file", "":
		p := u.Path
		if u.Scheme == "" {
			p = src
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(paths.TaskDir, p)
		}
		var f *os.File
		if paths.HostFiles {
			f, err = os.Open(p)
		} else {
			f, err = openBeneath(paths.AllocDir, p)
		}
		if err != nil {
			return "", "", fmt.Errorf("open artifact: %w", err)
		}
		body = f
		name = filepath.Base(p)
	default:
		return "", "", fmt.Errorf("%w: %s", ErrUnsupported, src)
	}
	defer body.Close()
	tmp, err := os.CreateTemp("", "artifact-*")
	if err != nil {
		return "", "", err
	}
	n, err := io.Copy(tmp, io.LimitReader(body, MaxDownloadBytes+1))
	if err == nil && n > MaxDownloadBytes {
		err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxDownloadBytes)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", "", fmt.Errorf("download %s: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", "", err
	}
	return tmp.Name(), name, nil
}

// verify checks a "type:hex" checksum.
func verify(file, sum string) error {
	typ, want, ok := strings.Cut(sum, ":")
	if !ok {
		return fmt.Errorf("checksum %q: want type:value", sum)
	}
	var h hash.Hash
	switch typ {
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return fmt.Errorf("checksum type %q not supported", typ)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("checksum mismatch: got %s, want %s", got, want)
	}
	return nil
}

func archiveKind(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".zip"):
		return "zip"
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return "tar.gz"
	case strings.HasSuffix(n, ".tar.bz2"), strings.HasSuffix(n, ".tbz2"):
		return "tar.bz2"
	case strings.HasSuffix(n, ".tar"):
		return "tar"
	case strings.HasSuffix(n, ".gz"):
		return "gz"
	}
	return ""
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFile(dst, in, 0o644)
}

func writeFile(dst string, r io.Reader, mode os.FileMode) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(r, MaxFileBytes+1))
	if err == nil && n > MaxFileBytes {
		err = fmt.Errorf("%w: %s would pass %d bytes", ErrTooLarge, filepath.Base(dst), MaxFileBytes)
	}
	if err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

func gunzipFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	defer zr.Close()
	return writeFile(dst, zr, 0o644)
}

// entryPath joins an archive entry to dest, refusing entries outside it.
func entryPath(dest, name string) (string, error) {
	p := filepath.Join(dest, name)
	if !within(dest, p) {
		return "", fmt.Errorf("%w: archive entry %s", ErrEscapes, name)
	}
	return p, nil
}

func unzip(src, dest string) error {
	zr, err := zip.OpenReader(src)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		p, err := entryPath(dest, f.Name)
		if err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		err = writeFile(p, rc, f.Mode().Perm()|0o600)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func untar(src, dest, kind string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	switch kind {
	case "tar.gz":
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	case "tar.bz2":
		r = bzip2.NewReader(f)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p, err := entryPath(dest, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := writeFile(p, tr, os.FileMode(h.Mode).Perm()|0o600); err != nil {
				return err
			}
		}
		// Links and devices are skipped: they could point outside dest.
	}
}

// openBeneathByPath opens p after checking that, with every symlink
// resolved, it lies within dir.
func openBeneathByPath(dir, p string) (*os.File, error) {
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil, err
	}
	if !within(realDir, real) {
		return nil, fmt.Errorf("%w: %s", ErrHostFile, p)
	}
	return os.Open(real)
}

func within(dir, p string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
