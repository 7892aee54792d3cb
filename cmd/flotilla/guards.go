package main

import (
	"github.com/flotilla-ipfs/flotilla/api/pinsvc"
	"github.com/flotilla-ipfs/flotilla/api/rest"
	"github.com/flotilla-ipfs/flotilla/cluster"
	"github.com/flotilla-ipfs/flotilla/intercept"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
	"github.com/flotilla-ipfs/flotilla/internal/telemetry"
	"github.com/flotilla-ipfs/flotilla/proxy"
)

// The cluster and the HTTP packages declare what they need as interfaces and never import
// the types that implement them. These guards make renaming a method on
// the real types a compile error here, instead of a feature that silently
// stops working.
var (
	_ rest.Cluster      = (*cluster.Node)(nil)
	_ pinsvc.Cluster    = (*cluster.Node)(nil)
	_ intercept.Cluster = (*cluster.Node)(nil)

	_ rest.Resolver      = (*ipfs.Client)(nil)
	_ intercept.Resolver = (*ipfs.Client)(nil)

	_ proxy.Intercepted = (*intercept.Handlers)(nil)

	_ cluster.IPFS     = (*ipfs.Client)(nil)
	_ cluster.Observer = (*telemetry.Metrics)(nil)
)
