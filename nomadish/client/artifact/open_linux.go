package artifact

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// openBeneath opens a file that must lie within dir, resolving the path
// in the kernel so no symlink or ".." leads outside it, even one a
// running task swaps in while the artifact is being fetched.
func openBeneath(dir, p string) (*os.File, error) {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrHostFile, p)
	}
	root, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	fd, err := unix.Openat2(int(root.Fd()), rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case errors.Is(err, unix.EXDEV):
		return nil, fmt.Errorf("%w: %s", ErrHostFile, p)
	case errors.Is(err, unix.ENOSYS):
		return openBeneathByPath(dir, p)
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}
