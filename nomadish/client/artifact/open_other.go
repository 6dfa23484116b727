//go:build !linux

package artifact

import "os"

// openBeneath opens a file that must lie within dir.
func openBeneath(dir, p string) (*os.File, error) { return openBeneathByPath(dir, p) }
