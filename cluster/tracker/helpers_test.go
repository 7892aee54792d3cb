package tracker_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// The real client is what the daemon hands the tracker.
var _ tracker.IPFS = (*ipfs.Client)(nil)

// The peer whose tracker runs, and another peer of its cluster.
const (
	self  = "12D3KooWSelfPeer"
	other = "12D3KooWOtherPeer"
)

// fixture is one peer's tracker with no Node: the real IPFS client in front
// of a fake Kubo, and the real pinset and status files. Tests commit pins
// with commit, which applies them to the state and tells the tracker, as the
// Node's FSM callback does.
type fixture struct {
	t      *testing.T
	kubo   *fakekubo.Fake
	ipfs   *ipfs.Client
	state  *storage.State
	status *storage.StatusStore
	cfg    tracker.Config
	tr     *tracker.Tracker
	stop   func()
	// warnings are the tracker's lines at warn and above, decoded.
	warnings testkit.LogLines
}

// testConfig retries fast and never reconciles on its own after the start,
// so that a test decides when a reconcile happens.
func testConfig() tracker.Config {
	return tracker.Config{
		ConcurrentPins:    4,
		PinTimeout:        time.Minute,
		UnpinTimeout:      time.Minute,
		ReconcileInterval: time.Hour,
		RetryBackoff:      50 * time.Millisecond,
	}
}

func newFixture(t *testing.T, cfg tracker.Config) *fixture {
	t.Helper()
	kubo := fakekubo.New(t)
	kubo.SetProgressInterval(10 * time.Millisecond)
	client, err := ipfs.New(kubo.URL(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	state, err := storage.OpenState(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	status, err := storage.OpenStatusStore(filepath.Join(dir, "status.db"))
	if err != nil {
		state.Close()
		t.Fatal(err)
	}
	f := &fixture{t: t, kubo: kubo, ipfs: client, state: state, status: status, cfg: cfg}
	t.Cleanup(func() {
		f.stopTracker()
		client.Close()
		status.Close()
		state.Close()
	})
	f.startTracker()
	return f
}

// startTracker runs a new tracker on the fixture's files, as a peer's
// start does.
// It returns once the start's reconcile is done, so that the reconcile
// does not meet the test's own work.
func (f *fixture) startTracker() {
	f.t.Helper()
	f.startTrackerOn(f.ipfs)
	f.waitStartReconciled()
}

// waitStartReconciled waits until the tracker finished its start's reconcile.
func (f *fixture) waitStartReconciled() {
	f.t.Helper()
	eventually(f.t, "the start's reconcile done", func() bool { return f.tr.ReconcileRounds() > 0 })
}

// startTrackerOn is startTracker with the tracker's calls going to node.
func (f *fixture) startTrackerOn(node tracker.IPFS) {
	f.t.Helper()
	log := zerolog.New(zerolog.MultiLevelWriter(zerolog.NewTestWriter(f.t), &f.warnings)).Level(zerolog.WarnLevel)
	f.tr = tracker.New(self, f.state, f.status, node, f.cfg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.tr.Run(ctx)
	}()
	f.stop = func() {
		cancel()
		<-done
		f.tr.Close()
	}
}

// stopTracker stops the tracker as a peer's shutdown does, and returns
// once its workers are done.
func (f *fixture) stopTracker() {
	if f.stop != nil {
		f.stop()
		f.stop = nil
	}
}

// commit applies ops to the pinset and tells the tracker what changed.
func (f *fixture) commit(ops ...storage.Op) {
	f.t.Helper()
	changes, err := f.state.Apply(0, storage.Command{Type: storage.CmdPinBatch, Ops: ops})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(changes) > 0 {
		f.tr.Changed(changes)
	}
}

// commitQuietly applies ops to the pinset and tells the tracker nothing,
// as when the peer stops before its tracker hears of them.
func (f *fixture) commitQuietly(ops ...storage.Op) {
	f.t.Helper()
	if _, err := f.state.Apply(0, storage.Command{Type: storage.CmdPinBatch, Ops: ops}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) pin(p storage.Pin) { f.t.Helper(); f.commit(storage.Op{Kind: storage.OpPin, Pin: p}) }

func (f *fixture) unpin(c cid.Cid) {
	f.t.Helper()
	f.commit(storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: c}})
}

// waitPinned is the tracker's WaitPinned, bounded so that a hang fails.
func (f *fixture) waitPinned(c cid.Cid, progress func(nodes, bytes uint64)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return f.tr.WaitPinned(ctx, c, progress)
}

// waitUnpinned is the tracker's WaitUnpinned, bounded so that a hang fails.
func (f *fixture) waitUnpinned(c cid.Cid) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return f.tr.WaitUnpinned(ctx, c)
}

// pinnedOne starts a fixture with cfg holding one CID pinned here.
func pinnedOne(t *testing.T, cfg tracker.Config) (*fixture, cid.Cid) {
	t.Helper()
	f := newFixture(t, cfg)
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.mustPin(here(c))
	return f, c
}

func (f *fixture) mustPin(p storage.Pin) {
	f.t.Helper()
	f.pin(p)
	if err := f.waitPinned(p.Cid, nil); err != nil {
		f.t.Fatalf("pin %s: %v", p.Cid, err)
	}
}

// localStatus is the tracker's record of c; ok is false when it has none.
func (f *fixture) localStatus(c cid.Cid) (storage.LocalStatus, bool) {
	f.t.Helper()
	st, ok, err := f.status.Get(c)
	if err != nil {
		f.t.Fatal(err)
	}
	return st, ok
}

func (f *fixture) statusIs(c cid.Cid, want storage.TrackerStatus) bool {
	st, ok := f.localStatus(c)
	return ok && st.Status == want
}

// wantCalls fails the test unless the fake Kubo had want calls to
// endpoint; why says what another count would mean.
func (f *fixture) wantCalls(endpoint string, want int, why string) {
	f.t.Helper()
	if n := f.kubo.Calls(endpoint); n != want {
		f.t.Fatalf("%d %s calls, want %d: %s", n, endpoint, want, why)
	}
}

// recoverAll is the tracker's RecoverAll, gathered.
func (f *fixture) recoverAll() []cid.Cid {
	f.t.Helper()
	var out []cid.Cid
	if err := f.tr.RecoverAll(context.Background(), func(page []cid.Cid) error {
		out = append(out, page...)
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) reconcile() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.tr.Reconcile(ctx); err != nil {
		f.t.Fatal(err)
	}
}

// here is a pin every peer holds, this one included.
func here(c cid.Cid) storage.Pin {
	return storage.Pin{Cid: c, ReplicationFactorMin: -1, ReplicationFactorMax: -1}
}

// elsewhere is a pin allocated to another peer only.
func elsewhere(c cid.Cid) storage.Pin {
	return storage.Pin{Cid: c, ReplicationFactorMin: 1, ReplicationFactorMax: 1, Allocations: []string{other}}
}

func testCid(i int) cid.Cid {
	mh, _ := multihash.Sum([]byte(fmt.Sprintf("tracker content %d", i)), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.DagProtobuf, mh)
}

// eventually polls observable state until cond holds, and fails the test
// when it does not within 20s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, what, cond, testkit.Within(20*time.Second))
}
