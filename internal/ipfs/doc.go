// Package ipfs is the client of the upstream IPFS RPC API that the pin
// tracker and the cluster use: a real Kubo, or another Flotilla proxy.
//
// It is built on kubo's client/rpc, so requests look exactly like those of
// Kubo's own Go client, and adds what the typed API lacks or gets wrong for
// a pinning service:
//
//   - Pin asks for progress and applies an inactivity timeout (ipfs-cluster's
//     pin_timeout semantics): a pin is abandoned with ErrPinStalled only when
//     the fetched node and byte counts stop growing. Kubo's ticks arrive every
//     500ms regardless, so ticks alone never count as progress.
//   - Unpin treats Kubo's "not pinned or pinned indirectly" as success: the
//     node is already in the wanted state.
//   - PinLs streams (stream=true) and checks the HTTP status itself, where
//     client/rpc's Pin().Ls would dereference nil on an error answer.
//   - IsPinned asks pin/ls with type=recursive, then type=direct: type=all
//     would make Kubo walk every recursive DAG for a CID that is not pinned.
//   - Every pin/ls carries HeldHeader (Flotilla-Held: true). Kubo ignores it;
//     an upstream Flotilla proxy then answers with what its IPFS nodes hold
//     rather than with its pinset, so that a pin that failed on every peer of
//     an inner cluster does not read pinned to the outer one.
//   - RepoSize is repo/stat?size-only=true, cheap enough for periodic
//     metrics; RepoStat also counts objects, which walks the blockstore.
//
// Errors: an error the node answered (status or X-Stream-Error trailer) is an
// *APIError whose Error() is the node's message unchanged, so callers can
// show it to users and match it as Kubo clients do. An error caused by the
// node not answering (refused or failed dial, connection dropped mid-call)
// matches ErrUnavailable and names the configured address. Context errors
// are returned as they are.
//
// A Client owns one http.Client whose transport keeps connections alive and
// is shared by every call; nothing is global, and the logger is passed in.
package ipfs
