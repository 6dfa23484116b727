//go:build tools

// Package tools pins dependencies that parts of the tree use only behind
// build tags or in tests, so that `go mod tidy` keeps them.
package tools

import (
	_ "github.com/containerd/cgroups/v3"
	_ "github.com/containerd/containerd/v2/client"
	_ "github.com/gorhill/cronexpr"
	_ "github.com/hashicorp/go-bexpr"
	_ "github.com/hashicorp/go-cty-funcs/cidr"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/go-memdb"
	_ "github.com/hashicorp/go-metrics"
	_ "github.com/hashicorp/go-msgpack/v2/codec"
	_ "github.com/hashicorp/go-msgpack/v2/codec/codecgen"
	_ "github.com/hashicorp/go-multierror"
	_ "github.com/hashicorp/go-plugin"
	_ "github.com/hashicorp/go-version"
	_ "github.com/hashicorp/hcl/v2"
	_ "github.com/hashicorp/memberlist"
	_ "github.com/hashicorp/nomad/api"
	_ "github.com/hashicorp/raft"
	_ "github.com/hashicorp/raft-boltdb/v2"
	_ "github.com/mitchellh/cli"
	_ "github.com/moby/moby/client"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/ryanuber/go-glob"
	_ "github.com/zclconf/go-cty-yaml"
	_ "github.com/zclconf/go-cty/cty"
	_ "go.etcd.io/bbolt"
	_ "go.uber.org/goleak"
	_ "google.golang.org/grpc"
	_ "google.golang.org/protobuf/proto"
)
