package tracker

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// A reconcile compares the pinset with a listing of the IPFS node taken at
// its start. A pin the tracker made after that listing, and whose unpin is
// queued, must not be dropped as "not held": its unpin would be lost and
// the pin left on the node for ever (found by the robustness suite).
func TestAStaleListingNeverDropsAQueuedUnpin(t *testing.T) {
	kubo, client := fakeKuboClient(t)
	state, status := openStores(t)
	tr := New("12D3KooWSelf", state, status, client, Config{}, zerolog.Nop())

	mh, _ := multihash.Sum([]byte("pinned after the listing"), multihash.SHA2_256, -1)
	c := cid.NewCidV1(cid.DagProtobuf, mh)
	kubo.PinDirect(c, "recursive")
	if err := status.Put(storage.LocalStatus{Cid: c, Status: storage.StatusUnpinQueued, Managed: true, Timestamp: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := tr.reconcileOrphans(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, known, err := status.Get(c)
	if err != nil || !known || st.Status != storage.StatusUnpinQueued {
		t.Fatalf("status after a stale reconcile: %+v known=%v err=%v; want the unpin still queued", st, known, err)
	}
}

// Per-pin lines are debug; the info line says how the queue moves, and
// says nothing when nothing moves.
func TestProgressIsOneInfoLineForTheQueue(t *testing.T) {
	state, status := openStores(t)
	var out strings.Builder
	tr := New("12D3KooWSelf", state, status, nil, Config{}, zerolog.New(&out).Level(zerolog.InfoLevel))
	tr.logProgress()
	if out.Len() != 0 {
		t.Fatalf("an idle tracker logged %q", out.String())
	}
	mh, _ := multihash.Sum([]byte("queued"), multihash.SHA2_256, -1)
	if err := status.Put(storage.LocalStatus{Cid: cid.NewCidV1(cid.Raw, mh), Status: storage.StatusPinQueued, Timestamp: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tr.done.Add(3)
	tr.logProgress()
	line := out.String()
	if !strings.Contains(line, `"done":3`) || !strings.Contains(line, `"queued":1`) || !strings.Contains(line, `"level":"info"`) {
		t.Fatalf("progress line %q", line)
	}
}

// Pins that keep failing make the progress line a warning that gives one
// of them and its error, said again only when the count changes or every
// stuckProgressEvery: not the same counts every 30 s for days.
func TestFailingPinsMakeTheProgressLineAWarningWithAnExample(t *testing.T) {
	state, status := openStores(t)
	var out strings.Builder
	tr := New("12D3KooWSelf", state, status, nil, Config{}, zerolog.New(&out).Level(zerolog.InfoLevel))
	mh, _ := multihash.Sum([]byte("failing"), multihash.SHA2_256, -1)
	c := cid.NewCidV1(cid.Raw, mh)
	if err := status.Put(storage.LocalStatus{Cid: c, Status: storage.StatusPinError, Error: "block not found", Timestamp: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tr.noteFailure(c.String(), errors.New("block not found"))
	tr.logProgress()
	line := out.String()
	if !strings.Contains(line, `"level":"warn"`) || !strings.Contains(line, `"failed":1`) ||
		!strings.Contains(line, `"example_cid":"`+c.String()+`"`) || !strings.Contains(line, `"example_error":"block not found"`) {
		t.Fatalf("progress line with a failed pin: %q", line)
	}
	out.Reset()
	tr.logProgress()
	if out.Len() != 0 {
		t.Fatalf("the same failed count said again at once: %q", out.String())
	}
	tr.progress.at = tr.progress.at.Add(-stuckProgressEvery)
	tr.logProgress()
	if !strings.Contains(out.String(), `"failed":1`) {
		t.Fatalf("the failed count not said again after %v: %q", stuckProgressEvery, out.String())
	}
}

// fakeKuboClient is a fake Kubo and the real client in front of it, closed
// at the test's end.
func fakeKuboClient(t *testing.T) (*fakekubo.Fake, *ipfs.Client) {
	t.Helper()
	kubo := fakekubo.New(t)
	client, err := ipfs.New(kubo.URL(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return kubo, client
}

// openStores opens a pinset and a status file that the test closes.
func openStores(t *testing.T) (*storage.State, *storage.StatusStore) {
	t.Helper()
	dir := t.TempDir()
	state, err := storage.OpenState(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { state.Close() })
	status, err := storage.OpenStatusStore(filepath.Join(dir, "status.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { status.Close() })
	return state, status
}
