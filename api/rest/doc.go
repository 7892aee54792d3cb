// Package rest is the admin REST API, with ipfs-cluster's routes and JSON so
// that its clients and users can switch to Flotilla unchanged. Its
// compatibility is tested with ipfs-cluster's own Go client.
//
// Where it deliberately differs from ipfs-cluster v1.1.6:
//
//   - mode=direct is honoured on every route; ipfs-cluster's POST
//     /pins/{cid} silently pins recursively.
//   - pin-update keeps the old pin's options, mode included, as
//     ipfs-cluster's does, but the request's own options win, and
//     mode=direct too (mode=recursive, which ipfs-cluster's clients always
//     send, cannot be told from none). ipfs-cluster takes only name and
//     expiry from the request.
//   - Bad pin options are 400 with the parameter named: an unknown mode, a
//     malformed peer ID in user-allocations, an expiry in the past,
//     replication-min above replication-max, a factor beyond 32 bits (the
//     proxy's bound, as Kubo's int options). ipfs-cluster falls back to a
//     default or answers 500. /add refuses, with 400 and before the upload,
//     a hash or chunker the IPFS node's add would refuse.
//   - Trailing slashes route like the path without them instead of a 307.
//   - Bearer tokens expire (api.token_ttl), are signed with a key derived
//     from the cluster secret (or api.token_secret), and die with their
//     user; a token renewed with a token ends with the login that began the
//     chain. ipfs-cluster's never expire.
//   - CORS is off unless origins are configured, and like Kubo's API (not
//     ipfs-cluster's) the API refuses with 403 a request a browser sends for
//     an origin not in api.cors_allowed_origins, and, when it listens on
//     loopback, a Host that is not loopback or in api.allowed_hosts (DNS
//     rebinding). See docs/security.md. The origins listed may use every
//     method of the routes and send Authorization and Content-Type;
//     ipfs-cluster's defaults allow GET alone, with no such header.
//   - GET /pins streams as it goes, merging each peer's statuses, which
//     the peers stream in CID order, with the pinset, instead of gathering
//     the whole pinset first (cids= asks the peers about its CIDs in one
//     batch). Its lines are the bytes encoding/json writes, written by
//     hand, in large writes. With a filter, each peer map keeps
//     the peers whose status passes, as ipfs-cluster's does; the filter also
//     applies to cids=.
//   - /add imports into this peer's IPFS node (unpinned) and then pins each
//     top-level entry, or the wrapping directory, in the cluster; ipfs-cluster
//     chunks the content itself and streams blocks to the allocated peers.
//     Allocations are known once a root is pinned, so only root lines carry
//     them. shard=true is refused. format=car streams the CAR to the node's
//     dag/import and pins every root of its header (ipfs-cluster takes
//     single-root CARs only), one AddedOutput per root named after the
//     uploaded file; size is not reported, bytes are the imported blocks'.
//   - local=true on recover still recovers everywhere (the cluster has no
//     local-only recover) and reports this peer's status only.
//   - POST /peers answers 501: peers join from their own side with the
//     secret.
//   - /health/bandwidth is an empty object: peers speak HTTP, not libp2p.
//   - GET / is a status page (assets embedded, under /ui/), and GET
//     /ui/pins pages through the pinset by cursor for it. The ID object
//     also carries `role`, `pins_by_status` and, from GET /peers,
//     `last_heartbeat`.
package rest
