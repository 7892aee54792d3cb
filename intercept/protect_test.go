package intercept

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// Every upload the proxy pins (add, block/put, dag/put, dag/import) asks
// the cluster to keep its roots on this peer before their pins are
// committed: until then, and until an allocated peer holds them, this
// peer's IPFS node has the only copy.
func TestUploadsAreProtectedBeforeTheirPinsAreCommitted(t *testing.T) {
	file, k1, r1 := testCid(1), rawCid("x"), rawCid("r")
	upload, carType := carUpload(t, carV1(t, []cid.Cid{r1}, "a"))
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch r.URL.Path {
		case "/api/v0/add":
			kuboStream(w, fmt.Sprintf(`{"Name":"a.txt","Hash":"%s","Size":"5"}`, file))
		case "/api/v0/block/put":
			kuboStream(w, fmt.Sprintf(`{"Key":"%s","Size":1}`, k1))
		case "/api/v0/dag/put":
			kuboStream(w, fmt.Sprintf(`{"Cid":{"/":"%s"}}`, k1))
		case "/api/v0/dag/import":
			kuboStream(w)
		}
	})
	body, ct := addBody(t)
	for _, tc := range []struct {
		path, contentType string
		body              []byte
		root              cid.Cid
	}{
		{"/api/v0/add?pin=true", ct, body, file},
		{"/api/v0/block/put?pin=true", ct, body, k1},
		{"/api/v0/dag/put?pin=true", ct, body, k1},
		{"/api/v0/dag/import", carType, upload, r1},
	} {
		f := newFakeCluster()
		var unprotected []storage.Pin
		f.OnPin(func(p storage.Pin) {
			if !slices.Contains(f.Protected(), p.Cid) {
				unprotected = append(unprotected, p)
			}
		})
		srv := serveThrough(t, newTestHandlers(t, f, nil, up.srv.URL, false))
		res, got := postReal(t, srv.URL+tc.path, tc.contentType, tc.body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tc.path, res.StatusCode, got)
		}
		if _, ok := f.Stored(tc.root); !ok {
			t.Fatalf("%s: %s not pinned", tc.path, tc.root)
		}
		if len(unprotected) > 0 {
			t.Errorf("%s: pins committed before their content was protected: %v", tc.path, unprotected)
		}
		if got := f.Protected(); !slices.Equal(got, []cid.Cid{tc.root}) {
			t.Errorf("%s: protected %v, want %v", tc.path, got, tc.root)
		}
	}
}
