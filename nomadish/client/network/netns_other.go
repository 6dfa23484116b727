//go:build !linux

package network

import (
	"errors"
	"path/filepath"
)

const netnsDir = "/var/run/netns"

var errNotLinux = errors.New("network namespaces need Linux")

func netnsPath(name string) string { return filepath.Join(netnsDir, name) }

func isNetns(string) bool { return false }

func attachNetns(string, string) error { return errNotLinux }

// InNamespace runs fn inside a network namespace; only Linux has them.
func InNamespace(string, func() error) error { return errNotLinux }

func setSysctl(string, string) error { return errNotLinux }
