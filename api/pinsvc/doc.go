// Package pinsvc is the IPFS Pinning Service API (v1.0.0) over the cluster
// pinset, so that `ipfs pin remote` and other spec clients pin through
// Flotilla. Give Kubo the listener's root URL as the endpoint
// (`ipfs pin remote service add flotilla http://127.0.0.1:9097 <token>`):
// the resources are /pins and /pins/{requestid}. GET /health answers 204
// without a token when the peer is ready (503 NOT_READY when not), as
// ipfs-cluster's pinning service and the admin API do.
//
// Request IDs. The cluster holds one pin per CID, so a pin request IS the
// CID's pin: the requestid is the CID in its canonical text form (base58btc
// for CIDv0, base32 for CIDv1), which is URL-path safe and survives re-pins
// through other paths (the proxy, the admin API, re-allocation), so that a
// client polling GET /pins/{requestid} never sees it vanish. The price is that
// pinning the same CID twice yields the same requestid and updates the one
// pin (name, origins, meta; its replication stays) rather than adding a
// second request: a per-request ID would promise a reference count the
// cluster does not keep, and deleting either request unpins the CID. Any
// multibase spelling of the CID is accepted as a requestid; responses always
// carry the canonical one. pin.cid is the client's spelling in the answer to
// its POST (add or replace), as the spec's "original Pin values" ask; the
// cluster keeps the CID, not its spelling, so later GETs and lists carry the
// canonical one there too.
//
// Accounts. Every accepted token sees the whole cluster pinset, including pins
// made through the proxy or the admin API: tokens authenticate, they do not
// partition.
//
// Status. queued, pinning, pinned or failed, from the peers allocated to the
// pin: any pinned is pinned, else any pinning is pinning, else failed when
// every one of them reports pin_error, else queued. Peers' errors go to
// info.status_details.
//
// Listing. Results are newest created first, created carries nanoseconds,
// before and after are strict, and count is the total for all filters, so
// Kubo's backwards paging by `before` sees every pin once. The pinset streams
// through a heap of the page's size; a page never ends inside a run of equal
// created times (which only imported pins have) unless the run is longer than
// the page.
//
// Browsers. Web pages are refused unless their origin is in
// pinsvc.allowed_origins (which also turns CORS on for them): a request that
// names another Origin or Referer, or a state-changing one from a browser
// that names neither, gets 403 FORBIDDEN before the token check; on a
// loopback listener so does a Host that is not loopback or in
// pinsvc.allowed_hosts (DNS rebinding). A Pin body must be labelled
// application/json, as every spec client labels it: the types a page can
// POST without a preflight (text/plain, forms) get 415. See
// docs/security.md.
//
// Errors use the spec's Failure body: 400 BAD_REQUEST, 401 UNAUTHORIZED, 403
// FORBIDDEN, 404 NOT_FOUND, 405, 413 PAYLOAD_TOO_LARGE (bodies over 1 MiB),
// 415 UNSUPPORTED_MEDIA_TYPE, 503 NOT_ENOUGH_PEERS or NO_LEADER (the cluster
// cannot take the pin now) or NOT_READY (GET /health), 504, 500. 409 is not used: the spec reserves it
// for exhausted paid quota.
package pinsvc
