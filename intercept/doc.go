package intercept

// Wiring (cmd/flotilla):
//
//	h := intercept.New(clusterPeer, ipfsClient, intercept.Options{
//		Upstream:   upstreamURL,
//		Transport:  ipfsClient.Transport(), // nil: forward.NewTransport()
//		WaitPinned: cfg.Proxy.PinWait, // "pinned" (true) or "committed"
//		Log:        log,
//	})
//	p, err := proxy.New(proxy.Config{Upstream: upstreamURL, ListenAddr: addr,
//		AllowedOrigins: origins, Log: log}, h)
//	go p.Serve(listener)
//
// Where Flotilla cannot, or deliberately does not, answer as Kubo does:
//
//   - pin ls lists the cluster's roots, then the indirect pins of this
//     peer's own IPFS node (the cluster tracks roots only): with a
//     replication below "every peer", indirect pins under roots allocated
//     to other peers are not listed. Kubo's order (recursive, then direct)
//     and its sorted Keys are not kept: roots come in pinset order.
//   - pin ls of named CIDs answers "indirect through <root>" only for a root
//     of the cluster pinset, "not pinned" otherwise. Kubo names one root,
//     so a CID also under a root the node's user pinned may read not
//     pinned. The listings of indirect pins (type=indirect, or all without
//     arguments) are the node's, and include those under the user's roots:
//     filtering them would mean walking the cluster roots' DAGs.
//   - A pin ls that sends ipfs.HeldHeader (Flotilla-Held: true) gets what
//     the cluster's IPFS nodes hold, not the pinset: named CIDs by the
//     peers' statuses checked against their nodes, listings by the peers'
//     status records. An outer cluster's tracker sends it, so that a pin
//     that failed on every peer of this cluster does not read pinned to
//     it. Kubo ignores the header; Kubo's users never send it.
//   - pin ls without stream writes its Keys object as it lists. A listing
//     failure within the first 64 KiB is Kubo's 500 error object; a later one
//     leaves a truncated object and the X-Stream-Error trailer.
//   - pin ls with stream=true reports a cluster failure (no leader...) in the
//     trailer with status 200 even before the first line, because client/rpc's
//     Pin().Ls panics on an error status. Kubo-reproducible errors (bad type,
//     bad option) stay Kubo's 500 or 400.
//   - Only encoding=json and encoding=text are implemented; other encodings are
//     400 "invalid encoding". add, block/put, dag/put and dag/import with a pin
//     requested need encoding=json, since the CIDs are read from the JSON lines.
//   - pin rm -r=false looks at the pin, then removes it: a concurrent re-pin in
//     between wins, where Kubo holds a lock.
//   - pin update leaves the allocations to the cluster, which knows the old
//     pin from PinUpdate.
//   - add, block/put and dag/put hold back the last line of the upstream answer
//     until the cluster pins are committed (and pinned, with WaitPinned), so a
//     client that stops at the root's line still sees a committed pin; progress
//     lines therefore arrive one line late. A pin failure goes in the
//     X-Stream-Error trailer. dag/import reports it in the Root line's
//     PinErrorMsg, as Kubo does for its own pins.
//   - add with silent is asked of the upstream without it, so that the CIDs
//     of files show; the caller gets the lines Kubo prints with silent (its
//     directories and progress lines), all at the end, after the pins.
//   - When the upstream fails mid-stream, add and block/put pin what it
//     reported before the error (add's top-level entries, block/put's
//     blocks), as Kubo pins those as it goes, and the client gets Kubo's
//     error. A block/put block over 2 MiB is pinned by Kubo before it is
//     refused, with no line to say its CID: through the proxy it stays
//     stored, unpinned.
//   - add and block/put with cid-base (other than base58btc) or
//     upgrade-cidv0-in-output print Kubo's CIDv0s as CIDv1; the cluster pins
//     the CIDv0 Kubo made. For add without cid-version that assumes Kubo's
//     default CIDv0: with Import.CidVersion set to 1 in Kubo's config, which
//     the proxy cannot see, such an add pins the v0 of a real CIDv1 root.
//   - The CAR roots of dag/import are read by a small header parser
//     (internal/car, shared with the admin API's /add?format=car: CARv1, and
//     CARv2 with its inner CARv1), because go-car/v2 is not a direct requirement
//     of the module.
//   - Intercepted answers carry the upstream's Server header once a forwarded
//     answer has shown it (ObserveUpstream), "flotilla/<version>" before.
//   - The proxy does not check Kubo's API.Authorizations on intercepted calls;
//     the Authorization header is forwarded on everything else.
