// Package version holds the release version, set at build time with
// -ldflags "-X github.com/flotilla-ipfs/flotilla/internal/version.Version=...".
package version

// Version is Flotilla's semantic version.
var Version = "0.2.0"

// Commit is the git commit the binary was built from, when known.
var Commit = ""

// RPCProtocol is the peer RPC protocol that GET /id reports, in the place
// where ipfs-cluster reports its own.
const RPCProtocol = "/flotilla/1.0/rpc"
