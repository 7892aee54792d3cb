package cluster

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func byKey(a, b cid.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) }

// sortedCids is testCid(from) to testCid(to-1), in CID order.
func sortedCids(from, to int) []cid.Cid {
	var out []cid.Cid
	for i := from; i < to; i++ {
		out = append(out, testCid(i))
	}
	slices.SortFunc(out, byKey)
	return out
}

// streamOf sends cids in batches of size on a closed channel, as a peer's
// RecoverAll goroutine does.
func streamOf(cids []cid.Cid, size int) chan []cid.Cid {
	ch := make(chan []cid.Cid, len(cids)/size+1)
	for start := 0; start < len(cids); start += size {
		ch <- cids[start:min(start+size, len(cids))]
	}
	close(ch)
	return ch
}

func TestMergeSortedTellsEachCidOnceInOrder(t *testing.T) {
	a, b, c := sortedCids(0, 60), sortedCids(40, 100), sortedCids(50, 55)
	var got []cid.Cid
	err := mergeSorted([]chan []cid.Cid{streamOf(a, 7), streamOf(b, 64), streamOf(c, 1), streamOf(nil, 1)}, func(c cid.Cid) error {
		got = append(got, c)
		return nil
	})
	if err != nil || !slices.Equal(got, sortedCids(0, 100)) {
		t.Fatalf("merged %d CIDs (%v), want the 100 in CID order, once each", len(got), err)
	}

	// A stream out of order loses nothing.
	shuffled := sortedCids(0, 20)
	slices.Reverse(shuffled)
	seen := map[cid.Cid]bool{}
	mergeSorted([]chan []cid.Cid{streamOf(shuffled, 3), streamOf(sortedCids(10, 30), 4)}, func(c cid.Cid) error {
		seen[c] = true
		return nil
	})
	if len(seen) != 30 {
		t.Fatalf("merged %d distinct CIDs of 30 with a stream out of order", len(seen))
	}

	stop := errors.New("stop")
	n := 0
	err = mergeSorted([]chan []cid.Cid{streamOf(a, 7)}, func(cid.Cid) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("mergeSorted = %v after %d CIDs, want fn's error after one", err, n)
	}
}

// RecoverAll asks every peer, which answers through the peer RPC in
// pages, and tells of each CID queued again once, whichever peers failed
// it.
func TestRecoverAllRecoversEveryPeersFailuresOnce(t *testing.T) {
	peers := newTestCluster(t, 2)
	later := time.Now().Add(time.Hour).UTC() // not retried on their own meanwhile
	fail := func(p *testPeer, from, to int) {
		var sts []storage.LocalStatus
		for i := from; i < to; i++ {
			sts = append(sts, storage.LocalStatus{Cid: testCid(i), Status: storage.StatusPinError, Error: "boom", AttemptCount: 1, RetryAt: later})
		}
		if err := p.node.status.PutMany(sts); err != nil {
			t.Fatal(err)
		}
	}
	fail(peers[0], 0, 700)
	fail(peers[1], 500, 1300)
	var got []cid.Cid
	err := peers[1].node.RecoverAll(ctx(t), func(c cid.Cid) error {
		got = append(got, c)
		return nil
	})
	if err != nil || !slices.Equal(got, sortedCids(0, 1300)) {
		t.Fatalf("RecoverAll told of %d CIDs (%v), want the 1300 failed, once each in CID order", len(got), err)
	}
	for _, p := range peers {
		if counts, _ := p.node.status.CountByStatus(); counts[storage.StatusPinError] != 0 {
			t.Fatalf("peer %s still has %d failures", p.id, counts[storage.StatusPinError])
		}
	}
}
