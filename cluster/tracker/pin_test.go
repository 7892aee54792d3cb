package tracker_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestAllocatedPinIsPinnedAndWaitPinnedReturns(t *testing.T) {
	cfg := testConfig()
	var mu sync.Mutex
	var observed []bool
	cfg.ObservePin = func(_ time.Duration, ok bool) {
		mu.Lock()
		observed = append(observed, ok)
		mu.Unlock()
	}
	f := newFixture(t, cfg)
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.pin(here(c))
	if err := f.waitPinned(c, nil); err != nil {
		t.Fatal(err)
	}
	if mode := f.kubo.Pins()[c.String()]; mode != fakekubo.Recursive {
		t.Fatalf("WaitPinned returned but IPFS holds the pin as %q, want recursive", mode)
	}
	st, _ := f.localStatus(c)
	if st.Status != storage.StatusPinned || !st.Managed || st.Preexisting {
		t.Fatalf("local status %+v, want pinned, managed, not preexisting", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(observed) != 1 || !observed[0] {
		t.Fatalf("ObservePin was told %v, want one successful pin", observed)
	}
}

func TestPinAllocatedElsewhereIsLeftAlone(t *testing.T) {
	f := newFixture(t, testConfig())
	away, mine := testCid(1), testCid(2)
	f.kubo.AddBlock(away)
	f.kubo.AddBlock(mine)
	f.pin(elsewhere(away))
	f.mustPin(here(mine)) // the tracker has worked since the first pin
	if f.kubo.IsPinned(away) {
		t.Fatal("a pin allocated to another peer was pinned here")
	}
	if st, ok := f.localStatus(away); ok {
		t.Fatalf("a pin allocated to another peer has a local status: %+v", st)
	}
	f.wantCalls("pin/add", 1, "only the pin allocated here is pinned")
}

func TestWaitPinnedReportsProgressWhileFetching(t *testing.T) {
	f := newFixture(t, testConfig())
	root, child := testCid(1), testCid(2)
	f.kubo.AddBlock(root)
	f.kubo.SetLinks(root, child) // the child is not on the network yet
	f.pin(here(root))
	var ticks atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- f.waitPinned(root, func(nodes, _ uint64) {
			if nodes > 0 {
				ticks.Add(1)
			}
		})
	}()
	eventually(t, "a progress tick with the root fetched", func() bool { return ticks.Load() > 0 })
	select {
	case err := <-done:
		t.Fatalf("WaitPinned returned before the fetch finished: %v", err)
	default:
	}
	if !f.statusIs(root, storage.StatusPinning) {
		st, _ := f.localStatus(root)
		t.Fatalf("local status %q during the fetch, want pinning", st.Status)
	}
	f.kubo.AddBlock(child)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !f.kubo.IsPinned(root) {
		t.Fatal("WaitPinned returned but IPFS does not hold the pin")
	}
}

func TestPinUpdatePinsFromTheOldVersion(t *testing.T) {
	f := newFixture(t, testConfig())
	old, next := testCid(1), testCid(2)
	f.kubo.AddBlock(old)
	f.kubo.AddBlock(next)
	f.mustPin(here(old))
	p := here(next)
	p.PinUpdate = old
	f.mustPin(p)
	f.wantCalls("pin/update", 1, "the new version is pinned by a pin update")
	f.wantCalls("pin/add", 1, "only the old version is pinned afresh")
	if !f.kubo.IsPinned(old) || !f.kubo.IsPinned(next) {
		t.Fatalf("old pinned %v, new pinned %v: want both", f.kubo.IsPinned(old), f.kubo.IsPinned(next))
	}
}

func TestDirectPinMadeRecursiveIsPinnedAgain(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	p := here(c)
	p.Mode = storage.Direct
	f.mustPin(p)
	if mode := f.kubo.Pins()[c.String()]; mode != fakekubo.Direct {
		t.Fatalf("IPFS holds the direct pin as %q", mode)
	}
	p.Mode = storage.Recursive
	f.mustPin(p)
	if mode := f.kubo.Pins()[c.String()]; mode != fakekubo.Recursive {
		t.Fatalf("IPFS holds %q after the cluster pin became recursive", mode)
	}
}

// Kubo's pin update reports no progress. Stuck updates must not hold the
// workers: each is abandoned after the pin timeout and pinned afresh.
func TestStuckPinUpdatesDoNotHoldTheWorkers(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins, cfg.PinTimeout = 2, 300*time.Millisecond
	f := newFixture(t, cfg)
	const n = 10
	for i := range n {
		old, next := testCid(i), testCid(100+i)
		f.kubo.AddBlock(old)
		f.kubo.AddBlock(next)
		f.mustPin(here(old))
	}
	f.kubo.SetDelay("pin/update", time.Hour) // answers when the request ends
	for i := range n {
		p := here(testCid(100 + i))
		p.PinUpdate = testCid(i)
		f.pin(p)
	}
	plain := testCid(200)
	f.kubo.AddBlock(plain)
	f.pin(here(plain))
	for i := range n {
		if err := f.waitPinned(testCid(100+i), nil); err != nil {
			t.Fatalf("a new version behind a stuck pin update was never pinned: %v", err)
		}
	}
	if err := f.waitPinned(plain, nil); err != nil {
		t.Fatalf("a pin behind stuck pin updates was never pinned: %v", err)
	}
	f.wantCalls("pin/update", n, "one update tried per new version")
	for i := range n {
		if !f.kubo.IsPinned(testCid(100 + i)) {
			t.Fatalf("version %d is not on IPFS", i)
		}
	}
}
