package ipfs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"
)

// heldAwareUpstream stands in for an inner Flotilla proxy whose pinset has
// ci committed although no IPFS node holds it: asked without HeldHeader it
// answers from the pinset (pinned), asked with it, from what is held.
func heldAwareUpstream(t *testing.T, ci cid.Cid) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		held := r.Header.Get(HeldHeader) == "true"
		switch {
		case held && r.URL.Query().Get("arg") == "":
			return // an empty listing
		case held:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"Message":"path '%s' is not pinned","Code":0,"Type":"error"}`+"\n", r.URL.Query().Get("arg"))
		case r.URL.Query().Get("arg") == "":
			fmt.Fprintf(w, `{"Cid":"%s","Type":"recursive"}`+"\n", ci)
		default:
			fmt.Fprintf(w, `{"Keys":{"%s":{"Type":"recursive","Name":"n"}}}`+"\n", ci)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The tracker's questions must be about what the upstream holds, not
// what an upstream cluster committed: a pin that failed on every inner
// peer is not pinned for the outer cluster.
func TestEveryPinLsAsksWhatTheUpstreamHolds(t *testing.T) {
	ci := testCid(t, "committed but failed inside")
	c := heldAwareUpstream(t, ci)
	ctx := context.Background()

	if typ, pinned, err := c.IsPinned(ctx, ci); err != nil || pinned {
		t.Errorf("IsPinned = %q %v %v, want not pinned", typ, pinned, err)
	}
	if name, err := c.PinName(ctx, ci, Recursive); err != nil || name != "" {
		t.Errorf("PinName = %q %v, want none", name, err)
	}
	if typ, ok, err := c.IndirectRoot(ctx, ci); err != nil || ok {
		t.Errorf("IndirectRoot = %q %v %v, want none", typ, ok, err)
	}
	n := 0
	if err := c.PinLs(ctx, Recursive, func(cid.Cid, string) error { n++; return nil }); err != nil || n > 0 {
		t.Errorf("PinLs listed %d pins the upstream does not hold (%v)", n, err)
	}
}
