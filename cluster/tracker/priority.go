package tracker

import (
	"context"
	"slices"
	"sync"

	"github.com/ipfs/go-cid"
)

// maxRecent bounds the recent changes that go before the backlog. Older
// ones stay in the on-disk queue, which is served in CID order.
const maxRecent = 4096

// recentQueue holds the CIDs of the latest committed changes, oldest first,
// so that a new pin is dispatched before a backlog of older ones (a million
// queued at a restore or an import), as ipfs-cluster's priority pins are.
// It is only a hint: what a CID needs is read from its status.
type recentQueue struct {
	mu   sync.Mutex
	cids []cid.Cid
}

func (q *recentQueue) push(cs []cid.Cid) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cids = append(q.cids, cs...)
	if over := len(q.cids) - maxRecent; over > 0 {
		q.cids = slices.Delete(q.cids, 0, over)
	}
}

func (q *recentQueue) pop() (cid.Cid, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.cids) == 0 {
		return cid.Undef, false
	}
	c := q.cids[0]
	q.cids = q.cids[1:]
	return c, true
}

// unpop puts back a CID that found no free worker, first in line.
func (q *recentQueue) unpop(c cid.Cid) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cids = slices.Insert(q.cids, 0, c)
}

// dispatchRecent starts work for the recent changes that are still queued,
// and reports false when no worker is left for the backlog.
func (t *Tracker) dispatchRecent(ctx context.Context) bool {
	for {
		c, ok := t.recent.pop()
		if !ok {
			return true
		}
		st, known, err := t.status.Get(c)
		if err != nil || !known || !queuedStatus(st.Status) {
			continue
		}
		if !t.start(ctx, c, true, true) {
			t.recent.unpop(c)
			return false
		}
	}
}
