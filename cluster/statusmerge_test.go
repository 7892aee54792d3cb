package cluster

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/cluster/peerrpc"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

type listedRow struct {
	pin storage.Pin
	pm  types.PeerMap
}

func listStatus(t *testing.T, n *Node, local bool) []listedRow {
	t.Helper()
	var rows []listedRow
	err := n.ListStatus(ctx(t), local, func(p storage.Pin, pm types.PeerMap) error {
		copied := types.PeerMap{}
		for k, v := range pm {
			copied[k] = v
		}
		rows = append(rows, listedRow{p, copied})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// pinAround commits n pins with replication 1, allocated to the peers in
// turn, a batch at a time through the leader, and waits for each to be
// pinned on its peer.
func pinAround(t *testing.T, peers []*testPeer, first, n int) []storage.Pin {
	t.Helper()
	var pins []storage.Pin
	var ops []storage.Op
	for i := range n {
		p := storage.Pin{Cid: testCid(first + i), ReplicationFactorMin: 1, ReplicationFactorMax: 1,
			Allocations: []string{peers[i%len(peers)].id}, Timestamp: time.Now().UTC()}
		pins = append(pins, p)
		ops = append(ops, storage.Op{Kind: storage.OpPin, Pin: p})
	}
	for len(ops) > 0 {
		batch := ops[:min(len(ops), 256)]
		ops = ops[len(batch):]
		if _, err := peers[0].node.submit(ctx(t), batch); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every pin pinned on its peer", func() bool {
		for _, p := range pins {
			if !peerByID(peers, p.Allocations[0]).up.has(p.Cid) {
				return false
			}
		}
		return true
	})
	return pins
}

func peerByID(peers []*testPeer, id string) *testPeer {
	for _, p := range peers {
		if p.id == id {
			return p
		}
	}
	return nil
}

// A status listing through any peer has every pin once, in CID order, and
// each peer's own view of it: pinned where allocated, remote elsewhere.
// Records of CIDs the pinset no longer has (a failed unpin waiting for its
// retry) are skipped without throwing the merge off.
func TestStatusListingMergesEveryPeersOwnStatus(t *testing.T) {
	peers := newTestCluster(t, 3)
	pins := pinAround(t, peers, 7000, peerrpc.StatusChunk+listPage/4)
	// Among the pins' CIDs, records of CIDs that are not pins, on every
	// peer: the listing reads past them.
	for _, p := range peers {
		for i := range 50 {
			rec := storage.LocalStatus{Cid: testCid(90000 + i), Status: storage.StatusUnpinError, Error: "gone", Managed: true,
				Timestamp: time.Now().UTC(), RetryAt: time.Now().Add(time.Hour)}
			if err := p.node.status.Put(rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := make([]cid.Cid, len(pins))
	for i, p := range pins {
		want[i] = p.Cid
	}
	slices.SortFunc(want, func(a, b cid.Cid) int { return bytes.Compare(a.Bytes(), b.Bytes()) })

	for _, via := range peers {
		rows := listStatus(t, via.node, false)
		if len(rows) != len(want) {
			t.Fatalf("via %s: %d rows, want %d", via.id, len(rows), len(want))
		}
		for i, row := range rows {
			if !row.pin.Cid.Equals(want[i]) {
				t.Fatalf("via %s: row %d is %s, want %s: the listing must follow the pinset's order", via.id, i, row.pin.Cid, want[i])
			}
			if len(row.pm) != len(peers) {
				t.Fatalf("via %s: %s has %d peers", via.id, row.pin.Cid, len(row.pm))
			}
			for id, st := range row.pm {
				wantStatus := "remote"
				if row.pin.AllocatedTo(id) {
					wantStatus = "pinned"
				}
				if st.Status != wantStatus || st.PeerName != peerByID(peers, id).node.cfg.Name {
					t.Fatalf("via %s: %s on %s is %+v, want %s", via.id, row.pin.Cid, id, st, wantStatus)
				}
			}
		}
	}

	rows := listStatus(t, peers[0].node, true)
	if len(rows) != len(want) {
		t.Fatalf("local: %d rows", len(rows))
	}
	for _, row := range rows {
		if st, ok := row.pm[peers[0].id]; len(row.pm) != 1 || !ok || st.Status == "" {
			t.Fatalf("local listing of %s: %+v", row.pin.Cid, row.pm)
		}
	}
}

// A peer that is down is in every row, as cluster_error, and the others'
// statuses are still there.
func TestStatusListingReportsAPeerThatIsDown(t *testing.T) {
	peers := newTestCluster(t, 3)
	pins := pinAround(t, peers, 8000, 6)
	// Listing needs no leader: whichever peer is down, the others answer.
	via, down := peers[0], peers[2]
	down.stop()
	rows := listStatus(t, via.node, false)
	if len(rows) != len(pins) {
		t.Fatalf("%d rows, want %d", len(rows), len(pins))
	}
	for _, row := range rows {
		if st := row.pm[down.id]; st.Status != types.StatusClusterError || st.Error == "" {
			t.Fatalf("%s on the stopped peer: %+v", row.pin.Cid, st)
		}
		if st := row.pm[via.id]; st.Status != "pinned" && st.Status != "remote" {
			t.Fatalf("%s on the listing peer: %+v", row.pin.Cid, st)
		}
	}
}

// A peer of an older build has no status stream: it is asked a page of
// the listing at a time instead.
func TestStatusListingAsksAnOlderPeerInBatches(t *testing.T) {
	peers := newTestCluster(t, 2)
	pins := pinAround(t, peers, 9000, 4)
	older := peers[1].node.self()
	chunks := make(chan []peerrpc.StatusEntry)
	close(chunks)
	src := &remoteSource{n: peers[0].node, peer: older, chunks: chunks, streamed: peerrpc.ErrNoSuchCall, cancel: func() {}, timer: time.NewTimer(time.Hour)}
	got := src.fill(context.Background(), pins, nil)
	for i, p := range pins {
		if want := peers[1].node.LocalStatus(p.Cid); got[i].Status != want.Status {
			t.Fatalf("%s: %+v, want %s", p.Cid, got[i], want.Status)
		}
	}
}
