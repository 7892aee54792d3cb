package tracker_test

import (
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// A new pin is dispatched before a backlog of older queued pins, such as a
// restart, a restore or a reconcile leaves, even where its CID sorts after
// all of them in the on-disk queue.
func TestANewPinGoesBeforeTheBacklog(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins = 2
	f := newFixture(t, cfg)
	f.kubo.SetDelay("pin/add", 20*time.Millisecond)
	f.stopTracker()
	const backlog = 200
	var last cid.Cid
	ops := make([]storage.Op, 0, backlog)
	for i := range backlog {
		c := testCid(1000 + i)
		f.kubo.AddBlock(c)
		ops = append(ops, storage.Op{Kind: storage.OpPin, Pin: here(c)})
		if c.KeyString() > last.KeyString() {
			last = c
		}
	}
	f.commit(ops...)
	// The new pin's CID sorts after every queued one: in CID order it would
	// be the very last to go.
	var fresh cid.Cid
	for i := 0; ; i++ {
		if c := testCid(5000 + i); c.KeyString() > last.KeyString() {
			fresh = c
			break
		}
	}
	f.kubo.AddBlock(fresh)
	f.startTracker()
	f.pin(here(fresh))
	eventually(t, "the new pin pinned", func() bool { return f.statusIs(fresh, storage.StatusPinned) })
	counts, err := f.status.CountByStatus()
	if err != nil {
		t.Fatal(err)
	}
	if waiting := counts[storage.StatusPinQueued] + counts[storage.StatusPinning]; waiting < backlog/2 {
		t.Fatalf("the new pin was pinned after %d of the %d older pins: it waited behind the backlog", backlog-waiting, backlog)
	}
}
