package peerrpc

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/types"
)

// A caller waiting for a pin that other peers hold (pin_wait=pinned,
// through a peer the pin is not allocated to) asks them for their status
// until one holds it. Asked at intervals, the answer came up to an
// interval late; asked with waitSettledHeader, a peer answers once its
// status of each CID is settled (pinned, or failed) or the wait it was
// given has passed. A peer of an older build ignores the header and
// answers at once, as it always did, so the caller still paces its calls.

// waitSettledHeader carries the wait, in milliseconds.
const waitSettledHeader = "Flotilla-Wait-Settled"

// maxSettleWait bounds how long a peer holds a status call for its
// statuses to settle.
const maxSettleWait = 10 * time.Second

// waitSettled waits, as r asks, for each of cids to settle here. It
// answers a malformed wait, and returns false then.
func (s *service) waitSettled(w http.ResponseWriter, r *http.Request, cids []cid.Cid) bool {
	ms, set, ok := headerUint(w, r, waitSettledHeader, 32)
	if !set || !ok {
		return ok
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(time.Duration(ms)*time.Millisecond, maxSettleWait))
	defer cancel()
	for _, c := range cids {
		s.local.WaitSettled(ctx, c)
	}
	return true
}

// SettledStatus asks the peer at addr for its status of c once it applied
// the entry at index after (0: at once), and once that status settled or
// wait has passed, whichever comes first.
func (c *Client) SettledStatus(ctx context.Context, addr string, after uint64, ci cid.Cid, wait time.Duration) (types.PinStatus, error) {
	settle := http.Header{waitSettledHeader: {strconv.FormatInt(wait.Milliseconds(), 10)}}
	sts, err := c.statuses(ctx, addr, []cid.Cid{ci}, readAfter(after), settle)
	if err != nil {
		return types.PinStatus{}, err
	}
	return sts[0], nil
}
