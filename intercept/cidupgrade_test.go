package intercept

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/ipfs/go-cid"
)

// Kubo prints the CIDv0 it made and pins as CIDv1 when cid-base or
// upgrade-cidv0-in-output asks; the cluster pin must be the v0, which is
// the pin Kubo would hold, while the client still reads Kubo's answer.
func TestImportPinsTheCidv0KuboMadeNotItsUpgradedForm(t *testing.T) {
	v0 := testCid(1)
	v1 := cid.NewCidV1(cid.DagProtobuf, v0.Hash())
	shown := v1.String()
	cases := []struct {
		target string
		line   string
		want   cid.Cid
	}{
		{"/api/v0/add?cid-base=base32", `{"Name":"a","Hash":"%s","Size":"9"}`, v0},
		{"/api/v0/add?upgrade-cidv0-in-output=true", `{"Name":"a","Hash":"%s","Size":"9"}`, v0},
		{"/api/v0/add?cid-version=0&cid-base=base32", `{"Name":"a","Hash":"%s","Size":"9"}`, v0},
		{"/api/v0/block/put?pin=true&format=v0&cid-base=base32", `{"Key":"%s","Size":9}`, v0},
		{"/api/v0/block/put?pin=true&f=v0&upgrade-cidv0-in-output=1", `{"Key":"%s","Size":9}`, v0},
		// Kubo made a real CIDv1 here: it is pinned as printed.
		{"/api/v0/add?cid-version=1&cid-base=base32", `{"Name":"a","Hash":"%s","Size":"9"}`, v1},
		{"/api/v0/block/put?pin=true&cid-codec=dag-pb&cid-base=base32", `{"Key":"%s","Size":9}`, v1},
		// No upgrade asked: a v1 in the answer is what Kubo made.
		{"/api/v0/add?cid-base=base58btc", `{"Name":"a","Hash":"%s","Size":"9"}`, v1},
		{"/api/v0/add?cid-base=base32&upgrade-cidv0-in-output=false", `{"Name":"a","Hash":"%s","Size":"9"}`, v1},
	}
	for _, tc := range cases {
		line := fmt.Sprintf(tc.line, shown)
		up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { kuboStream(w, line) })
		f := newFakeCluster()
		h := newTestHandlers(t, f, nil, up.srv.URL, true)
		body, ct := addBody(t)
		res := post(t, h, tc.target, bytes.NewReader(body), "Content-Type", ct)
		if got := readBody(t, res); got != line+"\n" {
			t.Errorf("%s: client got %q, want Kubo's %q", tc.target, got, line+"\n")
		}
		if _, ok := f.Stored(tc.want); !ok {
			t.Errorf("%s: %s not pinned; calls %v", tc.target, tc.want, f.Calls())
		}
		other := v1
		if tc.want == v1 {
			other = v0
		}
		if _, ok := f.Stored(other); ok {
			t.Errorf("%s: %s pinned as well", tc.target, other)
		}
	}
}
