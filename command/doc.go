// Package command is the nomadish CLI: one file per command, wired into
// mitchellh/cli by main.go through Commands.
//
// Commands follow Nomad's CLI: the same names, flags, output and exit codes
// (0 success, 1 error, 2 for placement failures when monitoring an
// evaluation). They reach the cluster only through nomadish/api; job files
// are parsed locally with nomadish/jobspec. Times print in the local zone
// as RFC 3339, IDs are cut to eight characters unless -verbose, and tables
// are aligned with two spaces between columns.
package command
