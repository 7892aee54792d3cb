package ipfs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

func TestPinIsPinnedUnpin(t *testing.T) {
	fk := fakekubo.New(t)
	c := newClient(t, fk)
	ctx := context.Background()
	rec, dir := testCid(t, "rec"), testCid(t, "dir")
	fk.AddBlock(rec)
	fk.AddBlock(dir)

	if err := c.Pin(ctx, rec, true, "", time.Minute, nil); err != nil {
		t.Fatalf("Pin recursive: %v", err)
	}
	if err := c.Pin(ctx, dir, false, "", time.Minute, nil); err != nil {
		t.Fatalf("Pin direct: %v", err)
	}
	if got := fk.Pins(); got[rec.String()] != Recursive || got[dir.String()] != Direct {
		t.Fatalf("pins = %v", got)
	}
	for ci, want := range map[cid.Cid]string{rec: Recursive, dir: Direct} {
		typ, ok, err := c.IsPinned(ctx, ci)
		if err != nil || !ok || typ != want {
			t.Errorf("IsPinned(%s) = %q %v %v, want %s", ci, typ, ok, err, want)
		}
	}

	for _, ci := range []cid.Cid{rec, dir} {
		if err := c.Unpin(ctx, ci); err != nil {
			t.Fatalf("Unpin: %v", err)
		}
	}
	if len(fk.Pins()) != 0 {
		t.Fatalf("pins left: %v", fk.Pins())
	}
	if err := c.Unpin(ctx, rec); err != nil {
		t.Fatalf("Unpin of an unpinned CID must succeed: %v", err)
	}
	if typ, ok, err := c.IsPinned(ctx, rec); typ != "" || ok || err != nil {
		t.Fatalf("IsPinned after Unpin = %q %v %v", typ, ok, err)
	}
}

func TestIsPinnedIndirectDoesNotCount(t *testing.T) {
	fk := fakekubo.New(t)
	c := newClient(t, fk)
	root, kid := testCid(t, "root"), testCid(t, "kid")
	fk.SetLinks(root, kid)
	fk.PinDirect(root, fakekubo.Recursive)

	typ, ok, err := c.IsPinned(context.Background(), kid)
	if err != nil || ok || typ != "" {
		t.Fatalf("IsPinned(kid) = %q %v %v, want not pinned", typ, ok, err)
	}
	// Unpinning an indirect CID is Kubo's "not pinned or pinned indirectly": nothing to do.
	if err := c.Unpin(context.Background(), kid); err != nil {
		t.Fatalf("Unpin(indirect) = %v", err)
	}
	if !fk.IsPinned(root) {
		t.Fatal("the root must stay pinned")
	}
}

func TestPinKeepsKuboErrors(t *testing.T) {
	fk := fakekubo.New(t)
	fk.SetOffline(true)
	c := newClient(t, fk)
	ci := testCid(t, "absent")
	err := c.Pin(context.Background(), ci, true, "", time.Minute, nil)
	want := "pin: block was not found locally (offline): ipld: could not find " + ci.String()
	var ae *APIError
	if !errors.As(err, &ae) || err.Error() != want || ae.Command != "pin/add" {
		t.Fatalf("err = %v, want APIError %q", err, want)
	}

	fk.SetOffline(false)
	fk.PinDirect(ci, fakekubo.Recursive)
	err = c.Pin(context.Background(), ci, false, "", time.Minute, nil)
	if want := "pin: " + ci.String() + " already pinned recursively"; err == nil || err.Error() != want {
		t.Fatalf("direct over recursive: %v, want %q", err, want)
	}
}

func TestUnpinPassesOtherErrors(t *testing.T) {
	fk := fakekubo.New(t)
	c := newClient(t, fk)
	fk.FailNext("pin/rm", 1, "pinner is closed")
	if err := c.Unpin(context.Background(), testCid(t, "x")); err == nil || err.Error() != "pinner is closed" {
		t.Fatalf("err = %v", err)
	}
}

func TestPinReportsProgress(t *testing.T) {
	fk := fakekubo.New(t)
	fk.SetProgressInterval(2 * time.Millisecond)
	c := newClient(t, fk)
	root := fk.AddData([]byte("root block"))
	kid := testCid(t, "kid")
	fk.SetLinks(root, kid)

	var ticks, maxNodes atomic.Uint64
	errc := make(chan error, 1)
	go func() {
		errc <- c.Pin(context.Background(), root, true, "", time.Minute, func(nodes, bytes uint64) {
			ticks.Add(1)
			if nodes > maxNodes.Load() {
				maxNodes.Store(nodes)
			}
		})
	}()
	testkit.Eventually(t, "a progress tick while the child is missing", func() bool { return ticks.Load() > 0 && fk.Fetching(kid) == 1 })
	fk.AddBlock(kid)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if maxNodes.Load() != 2 {
		t.Fatalf("max nodes reported = %d, want 2", maxNodes.Load())
	}
}

// TestPinInactivityFires: ticks keep coming, but nothing new is fetched.
func TestPinInactivityFires(t *testing.T) {
	fk := fakekubo.New(t)
	fk.SetProgressInterval(2 * time.Millisecond)
	c := newClient(t, fk)
	root := fk.AddData([]byte("root"))
	stuck := testCid(t, "stuck")
	fk.SetLinks(root, stuck)

	const inactivity = 100 * time.Millisecond
	var ticks atomic.Int64
	start := time.Now()
	err := c.Pin(context.Background(), root, true, "", inactivity, func(uint64, uint64) { ticks.Add(1) })
	if !errors.Is(err, ErrPinStalled) {
		t.Fatalf("err = %v, want ErrPinStalled", err)
	}
	if took := time.Since(start); took < inactivity {
		t.Fatalf("gave up after %v, before the %v inactivity timeout", took, inactivity)
	}
	if ticks.Load() < 2 {
		t.Fatalf("only %d ticks: the test must show that ticks without growth do not count", ticks.Load())
	}
	testkit.Eventually(t, "the abandoned fetch to end on the node", func() bool { return fk.Fetching(stuck) == 0 })
	if fk.IsPinned(root) {
		t.Fatal("pinned after the timeout")
	}
}

// TestPinInactivityDoesNotFireWhileProgressing: the pin takes several times
// the inactivity timeout, but every tick brings a new block.
func TestPinInactivityDoesNotFireWhileProgressing(t *testing.T) {
	fk := fakekubo.New(t)
	fk.SetProgressInterval(2 * time.Millisecond)
	c := newClient(t, fk)
	root := fk.AddData([]byte("root"))
	kids := make([]cid.Cid, 2000)
	for i := range kids {
		kids[i] = testCid(t, fmt.Sprint("kid", i))
	}
	fk.SetLinks(root, kids...)

	const inactivity = 250 * time.Millisecond
	start := time.Now()
	next := 0
	err := c.Pin(context.Background(), root, true, "", inactivity, func(nodes, _ uint64) {
		// The fetch walks the children in order: release the one it waits
		// for, until well past the timeout, then the rest.
		if time.Since(start) < 3*inactivity {
			if next < len(kids) && uint64(next+1) == nodes {
				fk.AddBlock(kids[next])
				next++
			}
			return
		}
		for ; next < len(kids); next++ {
			fk.AddBlock(kids[next])
		}
	})
	if err != nil {
		t.Fatalf("Pin: %v after %v", err, time.Since(start))
	}
	if took := time.Since(start); took < 3*inactivity {
		t.Fatalf("took %v: the test must outlast the timeout to mean anything", took)
	}
	if !fk.IsPinned(root) {
		t.Fatal("not pinned")
	}
}

func TestPinHonoursContext(t *testing.T) {
	fk := fakekubo.New(t)
	c := newClient(t, fk)
	ci := testCid(t, "slow")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Pin(ctx, ci, true, "", time.Hour, nil) }()
	testkit.Eventually(t, "the pin to be in flight", func() bool { return fk.Fetching(ci) == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || errors.Is(err, ErrPinStalled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestPinLsStreamsWithoutBuffering(t *testing.T) {
	fk := fakekubo.New(t)
	const total, pauseAt = 50_000, 1000
	for i := range total {
		fk.PinDirect(testCid(t, fmt.Sprint(i)), fakekubo.Recursive)
	}
	c := newClient(t, fk)
	// The fake stops sending after pauseAt pins until the callback has seen
	// them all: a client that read the whole answer before calling back
	// would wait forever (until the context deadline).
	resume := fk.PauseAfter("pin/ls", pauseAt)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := 0
	err := c.PinLs(ctx, Recursive, func(ci cid.Cid, typ string) error {
		n++
		if typ != Recursive || !ci.Defined() {
			return fmt.Errorf("pin %d: %s %q", n, ci, typ)
		}
		if n == pauseAt {
			resume()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("PinLs after %d pins: %v", n, err)
	}
	if n != total {
		t.Fatalf("listed %d pins, want %d", n, total)
	}
}

func TestPinLsTypesAndStop(t *testing.T) {
	fk := fakekubo.New(t)
	c := newClient(t, fk)
	ctx := context.Background()
	root, kid, dir := testCid(t, "root"), testCid(t, "kid"), testCid(t, "dir")
	fk.SetLinks(root, kid)
	fk.PinDirect(root, fakekubo.Recursive)
	fk.PinDirect(dir, fakekubo.Direct)

	for typ, want := range map[string]int{"": 3, All: 3, Recursive: 1, Direct: 1, Indirect: 1} {
		got := map[string]string{}
		if err := c.PinLs(ctx, typ, func(ci cid.Cid, t string) error { got[ci.String()] = t; return nil }); err != nil {
			t.Fatalf("PinLs(%q): %v", typ, err)
		}
		if len(got) != want {
			t.Errorf("PinLs(%q) = %v, want %d pins", typ, got, want)
		}
	}

	stop := errors.New("enough")
	if err := c.PinLs(ctx, All, func(cid.Cid, string) error { return stop }); err != stop {
		t.Fatalf("err = %v, want the callback's error", err)
	}
	if err := c.PinLs(ctx, "bogus", nil); err == nil {
		t.Fatal("an unknown type must fail before asking the node")
	}
	fk.FailNext("pin/ls", 1, "pin/ls broke")
	if err := c.PinLs(ctx, All, func(cid.Cid, string) error { return nil }); err == nil || err.Error() != "pin/ls broke" {
		t.Fatalf("err = %v, want the node's message (and no panic)", err)
	}
}

func TestPinLsNodeDiesMidStream(t *testing.T) {
	fk := fakekubo.New(t)
	c := newClient(t, fk)
	for i := range 5 {
		fk.PinDirect(testCid(t, fmt.Sprint(i)), fakekubo.Recursive)
	}
	// Cut the stream after 2 pins: the node dies mid-answer.
	resume := fk.PauseAfter("pin/ls", 2)
	defer resume()
	n := 0
	err := c.PinLs(context.Background(), All, func(cid.Cid, string) error {
		if n++; n == 2 {
			fk.SetDown(true)
		}
		return nil
	})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v after %d pins, want ErrUnavailable", err, n)
	}
}

// TestStreamErrorsFromTrailer: once output has started, Kubo reports a
// failure in the X-Stream-Error trailer; it must surface as the node's error.
func TestStreamErrorsFromTrailer(t *testing.T) {
	fk := fakekubo.New(t)
	fk.SetProgressInterval(time.Millisecond)
	c := newClient(t, fk)
	ci := testCid(t, "lost")
	var ticks atomic.Int64
	errc := make(chan error, 1)
	go func() {
		errc <- c.Pin(context.Background(), ci, true, "", time.Minute, func(uint64, uint64) { ticks.Add(1) })
	}()
	testkit.Eventually(t, "progress output to start", func() bool { return ticks.Load() > 0 && fk.Fetching(ci) == 1 })
	fk.SetOffline(true)
	err := <-errc
	want := "pin: block was not found locally (offline): ipld: could not find " + ci.String()
	var ae *APIError
	if !errors.As(err, &ae) || err.Error() != want {
		t.Fatalf("err = %#v, want APIError %q", err, want)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Stream-Error")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Chunked-Output", "1")
		fmt.Fprintf(w, `{"Cid":"%s","Type":"recursive"}`+"\n", ci)
		w.Header().Set("X-Stream-Error", "datastore closed")
	}))
	defer srv.Close()
	c2, err := New(srv.URL, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = c2.PinLs(context.Background(), All, func(cid.Cid, string) error { n++; return nil })
	if !errors.As(err, &ae) || err.Error() != "datastore closed" || n != 1 {
		t.Fatalf("PinLs = %#v after %d pins, want APIError \"datastore closed\" after 1", err, n)
	}
}

// TestUpstreamWithoutStreaming: a proxy that ignores progress=true and
// stream=true (older ipfs-cluster) answers single JSON values.
func TestUpstreamWithoutStreaming(t *testing.T) {
	ci := testCid(t, "x")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v0/pin/add":
			fmt.Fprintf(w, `{"Pins":["%s"]}`+"\n", ci)
		case "/api/v0/pin/ls":
			fmt.Fprintf(w, `{"Keys":{"%s":{"Type":"recursive","Name":""}}}`+"\n", ci)
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Pin(context.Background(), ci, true, "", time.Minute, nil); err != nil {
		t.Fatalf("Pin: %v", err)
	}
	var got []string
	err = c.PinLs(context.Background(), All, func(c cid.Cid, typ string) error {
		got = append(got, c.String()+" "+typ)
		return nil
	})
	if err != nil || len(got) != 1 || got[0] != ci.String()+" recursive" {
		t.Fatalf("PinLs = %v, %v", got, err)
	}
}
