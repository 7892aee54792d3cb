package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/intercept"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// bareCIDs resolves nothing: the test names pins by CID.
type bareCIDs struct{}

func (bareCIDs) Resolve(context.Context, string) (cid.Cid, error) {
	return cid.Undef, errors.New("no paths here")
}
func (bareCIDs) PinLs(context.Context, string, func(cid.Cid, string) error) error { return nil }
func (bareCIDs) IndirectRoot(context.Context, cid.Cid) (string, bool, error)      { return "", false, nil }

// proxyPinUpdate sends pin/update to the intercept handlers of p, in
// "pinned" mode, and returns the status and body of the answer.
func proxyPinUpdate(t *testing.T, ctx context.Context, p *Peer, from, to cid.Cid) (int, string) {
	t.Helper()
	up, err := url.Parse(p.Kubo.URL())
	if err != nil {
		t.Fatal(err)
	}
	h := intercept.New(p.Node, bareCIDs{}, intercept.Options{Upstream: up, WaitPinned: true, Log: zerolog.Nop()})
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("/api/v0/pin/update?arg=%s&arg=%s", from, to), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

// pin update waits for the old pin to leave the IPFS node behind the proxy
// it came through, and for that node only: through a peer that was not
// allocated the old pin it returns at the commit, even while the allocated
// peer's node fails to unpin; through the allocated peer, that failure is
// the answer, in Kubo's error shape.
func TestPinUpdateWaitsOnlyForTheUnpinOfItsOwnNode(t *testing.T) {
	c := New(t, 2, Options{Min: 1, Max: 1})
	front, holder := c.Peers[0], c.Peers[1]
	ctx := timeout(t, 60*time.Second)
	v1, v2, v3 := testCid(901), testCid(902), testCid(903)
	c.Provide(v1, v2, v3)
	if _, err := front.Node.Pin(ctx, storage.Pin{Cid: v1, ReplicationFactorMin: 1, ReplicationFactorMax: 1, UserAllocations: []string{holder.ID}}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("the allocated peer to pin v1", func() bool { return holder.Kubo.IsPinned(v1) })
	holder.Kubo.FailAll("pin/rm", "unpin failed on purpose")

	code, body := proxyPinUpdate(t, ctx, front, v1, v2)
	if code != http.StatusOK || !strings.Contains(body, v2.String()) {
		t.Fatalf("pin update through the peer that never held v1: %d %s", code, body)
	}
	if !holder.Kubo.IsPinned(v2) {
		t.Fatal("pin update returned before an allocated peer pinned v2")
	}

	code, body = proxyPinUpdate(t, ctx, holder, v2, v3)
	if code != http.StatusInternalServerError || !strings.Contains(body, "unpin failed on purpose") || !strings.Contains(body, `"Type":"error"`) {
		t.Fatalf("pin update through the peer whose node failed to unpin v2: %d %s", code, body)
	}
}
