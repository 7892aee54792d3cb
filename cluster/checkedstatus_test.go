package cluster

import (
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// A pin removed from a peer's IPFS node behind the cluster's back reads
// unexpectedly_unpinned in the status of its CID, asked through any peer,
// as ipfs-cluster's does; listings still read the records.
func TestTheStatusOfOneCidShowsAPinItsNodeLost(t *testing.T) {
	peers := newTestCluster(t, 3)
	leader := leaderOf(t, peers)
	holder := peers[slices.IndexFunc(peers, func(p *testPeer) bool { return p != leader })]
	c := testCid(500)
	if _, err := leader.node.Pin(ctx(t), storage.Pin{Cid: c, ReplicationFactorMin: 1, ReplicationFactorMax: 1, UserAllocations: []string{holder.id}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the holder pinned it", func() bool {
		return holder.up.has(c) && holder.node.LocalStatus(c).Status == string(storage.StatusPinned)
	})
	holder.up.unpinBehindBack(c)

	for _, through := range []*testPeer{leader, holder} {
		if got := through.node.CheckedPeerMaps(ctx(t), []cid.Cid{c})[0][holder.id].Status; got != types.StatusUnexpectedlyUnpinned {
			t.Errorf("through %s, the holder's checked status is %q, want %q", through.id, got, types.StatusUnexpectedlyUnpinned)
		}
		if got := through.node.PeerMap(ctx(t), c)[holder.id].Status; got != string(storage.StatusPinned) {
			t.Errorf("through %s, the holder's unchecked status is %q, want the record's pinned", through.id, got)
		}
	}
	if got := holder.node.CheckedLocalStatus(ctx(t), c).Status; got != types.StatusUnexpectedlyUnpinned {
		t.Errorf("the holder's own checked status is %q", got)
	}
}
