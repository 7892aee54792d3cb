// Package fakekubo is an in-process fake of the Kubo RPC API (/api/v0) for
// fast, deterministic unit tests with failure injection.
//
// It speaks Kubo's wire format for the endpoints it implements, as recorded
// in the project's Kubo RPC contract: POST only (405 otherwise), Kubo's option
// parsing (aliases, bool forms, duplicate keys), arguments from the query, the
// path segment or a multipart body, Single vs NDJSON vs byte-stream framing,
// the X-Stream-Error trailer, and Kubo's error shapes and messages. Real Kubo
// clients (client/rpc, the ipfs CLI) cannot tell it apart for these calls.
//
// What it fakes: content is never chunked into a UnixFS DAG. `add` gives each
// file the CIDv0 of the sha256 of its bytes (a raw-leaf CIDv1 with
// cid-version=1), directories get a CID derived from their entries, and a DAG
// exists only where the test declares links with SetLinks. Only encoding=json
// is implemented.
//
// A CID the fake does not have behaves like content on the network: pin/add,
// cat and block/get wait for it until the test makes it available (AddBlock,
// AddData) or the request ends, unless SetOffline makes them fail at once
// with Kubo's offline error. It is not a substitute for real Kubo in
// end-to-end tests.
package fakekubo
