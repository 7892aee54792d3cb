package intercept

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
)

const msgBigBlock = "produced block is over 2MiB: big blocks can't be exchanged with other peers. consider using UnixFS for automatic chunking of bigger files, or pass --allow-big-block to override"

// When Kubo fails after some lines, it has pinned what add and block/put
// reported by then (each top-level entry, each block) and nothing of a
// dag/put; the cluster pins the same, and the client keeps Kubo's error.
func TestImportFailingMidStreamPinsWhatKuboHadPinned(t *testing.T) {
	a, nested, b := testCid(1), testCid(2), rawCid("x")
	cases := []struct {
		target string
		lines  []string
		pinned []cid.Cid
	}{
		{"/api/v0/block/put?pin=true", []string{fmt.Sprintf(`{"Key":"%s","Size":100}`, b)}, []cid.Cid{b}},
		{"/api/v0/add", []string{
			fmt.Sprintf(`{"Name":"a","Hash":"%s","Size":"9"}`, a),
			fmt.Sprintf(`{"Name":"dir/b","Hash":"%s","Size":"9"}`, nested),
		}, []cid.Cid{a}},
		// With -w only the wrapper is pinned, and it never came.
		{"/api/v0/add?w=true", []string{fmt.Sprintf(`{"Name":"a","Hash":"%s","Size":"9"}`, a)}, nil},
		{"/api/v0/dag/put?pin=true", []string{fmt.Sprintf(`{"Cid":{"/":"%s"}}`, b)}, nil},
	}
	for _, tc := range cases {
		up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			kuboStream(w, tc.lines...)
			w.Header().Set("X-Stream-Error", msgBigBlock)
		})
		f := newFakeCluster()
		srv := serveThrough(t, newTestHandlers(t, f, nil, up.srv.URL, true))
		body, ct := addBody(t)
		res, got := postReal(t, srv.URL+tc.target, ct, body)
		if want := joinLines(tc.lines); res.StatusCode != 200 || got != want {
			t.Errorf("%s: client got %d %q, want 200 %q", tc.target, res.StatusCode, got, want)
		}
		if tr := res.Trailer.Get("X-Stream-Error"); tr != msgBigBlock {
			t.Errorf("%s: trailer %q, want Kubo's", tc.target, tr)
		}
		var want []string
		for _, c := range tc.pinned {
			want = append(want, "pin "+c.String()+" recursive", "wait "+c.String())
		}
		if calls := f.Calls(); !slices.Equal(calls, want) {
			t.Errorf("%s: cluster calls %v, want %v", tc.target, calls, want)
		}
	}
}

func joinLines(lines []string) string {
	var s string
	for _, l := range lines {
		s += l + "\n"
	}
	return s
}
