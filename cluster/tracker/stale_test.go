package tracker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// staleListing is an IPFS node whose pin listing still shows a recursive
// pin that is gone: a listing taken just before the cluster's unpin of its
// own pin, as a reconcile running beside the tracker's workers sees it.
type staleListing struct {
	*ipfs.Client
	gone  cid.Cid
	stale atomic.Bool
}

func (s *staleListing) PinLs(ctx context.Context, typ string, fn func(cid.Cid, string) error) error {
	if err := s.Client.PinLs(ctx, typ, fn); err != nil {
		return err
	}
	if typ == "recursive" && s.stale.Load() {
		return fn(s.gone, typ)
	}
	return nil
}

// A reconcile must not take a stale listing's word that a pin with no
// local status is the user's: the pin may be the cluster's own, removed
// since. Marked as the user's, the cluster's later pin of the CID would
// never be unpinned (found by the robustness suite, as a Kubo holding a
// cluster pin that its tracker reported unpinned).
func TestAStaleListingNeverMakesAPinTheUsers(t *testing.T) {
	kubo, client := fakeKuboClient(t)
	state, status := openStores(t)
	mh, _ := multihash.Sum([]byte("unpinned behind the listing"), multihash.SHA2_256, -1)
	c := cid.NewCidV1(cid.DagProtobuf, mh)
	kubo.AddBlock(c)
	node := &staleListing{Client: client, gone: c}
	node.stale.Store(true)
	tr := New("12D3KooWSelf", state, status, node, Config{PinTimeout: time.Minute, UnpinTimeout: time.Minute, ReconcileInterval: time.Hour}, zerolog.Nop())

	here := storage.Pin{Cid: c, ReplicationFactorMin: -1, ReplicationFactorMax: -1}
	if _, err := state.Apply(1, storage.Command{Type: storage.CmdPinBatch, Ops: []storage.Op{{Kind: storage.OpPin, Pin: here}}}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	node.stale.Store(false)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tr.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testkit.Eventually(t, "the cluster's pin held", func() bool {
		st, _, _ := status.Get(c)
		return st.Status == storage.StatusPinned && kubo.Pins()[c.String()] == fakekubo.Recursive
	}, testkit.Within(20*time.Second))

	changes, err := state.Apply(2, storage.Command{Type: storage.CmdPinBatch, Ops: []storage.Op{{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: c}}}})
	if err != nil {
		t.Fatal(err)
	}
	tr.Changed(changes)
	testkit.Eventually(t, "the status dropped", func() bool {
		_, known, _ := status.Get(c)
		return !known
	}, testkit.Within(20*time.Second))
	if mode, held := kubo.Pins()[c.String()]; held {
		t.Fatalf("after the cluster's unpin, IPFS still holds the cluster's pin (%s)", mode)
	}
}
