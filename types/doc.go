// Package types holds the values and sentinel errors that cross layers: the
// peer (cluster) produces them and the HTTP fronts (proxy, intercept, the
// admin and pinning-service APIs) and the CLI consume them. Each is defined
// once, here, so that no front needs to import the cluster to name what it
// receives. Like ipfs-cluster's api/types.go, it is a leaf: it imports only
// storage, for the Pin.
package types
