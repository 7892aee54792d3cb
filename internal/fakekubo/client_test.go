package fakekubo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/client/rpc"
	iface "github.com/ipfs/kubo/core/coreiface"
	caopts "github.com/ipfs/kubo/core/coreiface/options"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// These tests drive the fake with kubo's own Go client: if client/rpc is
// happy, the wire format is right for these calls.

func newAPI(t *testing.T, fk *Fake) *rpc.HttpApi {
	t.Helper()
	api, err := rpc.NewURLApiWithClient(fk.URL(), &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func listPins(t *testing.T, api *rpc.HttpApi, opts ...caopts.PinLsOption) map[string]string {
	t.Helper()
	ch := make(chan iface.Pin)
	errc := make(chan error, 1)
	go func() { errc <- api.Pin().Ls(context.Background(), ch, opts...) }()
	out := map[string]string{}
	for p := range ch {
		out[p.Path().RootCid().String()] = p.Type()
	}
	if err := <-errc; err != nil {
		t.Fatalf("Pin().Ls: %v", err)
	}
	return out
}

func TestClientPinLifecycle(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	ctx := context.Background()
	c := testCid(t, "a")
	fk.AddBlock(c)

	if err := api.Pin().Add(ctx, path.FromCid(c), caopts.Pin.Name("first")); err != nil {
		t.Fatalf("Pin().Add: %v", err)
	}
	if !fk.IsPinned(c) || fk.Pins()[c.String()] != Recursive {
		t.Fatalf("pins = %v, want %s recursive", fk.Pins(), c)
	}
	if name, _ := fk.PinName(c); name != "first" {
		t.Errorf("pin name = %q, want first", name)
	}
	typ, ok, err := api.Pin().IsPinned(ctx, path.FromCid(c))
	if err != nil || !ok || typ != Recursive {
		t.Fatalf("IsPinned = %q %v %v, want recursive true nil", typ, ok, err)
	}
	if got := listPins(t, api); got[c.String()] != Recursive || len(got) != 1 {
		t.Fatalf("Ls = %v", got)
	}

	if err := api.Pin().Rm(ctx, path.FromCid(c)); err != nil {
		t.Fatalf("Pin().Rm: %v", err)
	}
	if fk.IsPinned(c) {
		t.Fatal("still pinned after Rm")
	}
	err = api.Pin().Rm(ctx, path.FromCid(c))
	if err == nil || err.Error() != "not pinned or pinned indirectly" {
		t.Fatalf("second Rm error = %v, want Kubo's not pinned", err)
	}
	if _, ok, err := api.Pin().IsPinned(ctx, path.FromCid(c)); ok || err != nil {
		t.Fatalf("IsPinned after Rm = %v %v, want false nil (client keys on 'is not pinned')", ok, err)
	}
}

func TestClientDirectPinAndUpdate(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	ctx := context.Background()
	a, b := testCid(t, "a"), testCid(t, "b")
	fk.AddBlock(a)
	fk.AddBlock(b)

	if err := api.Pin().Add(ctx, path.FromCid(a), caopts.Pin.Recursive(false)); err != nil {
		t.Fatal(err)
	}
	if got := listPins(t, api, caopts.Pin.Ls.Direct()); got[a.String()] != Direct {
		t.Fatalf("direct pins = %v", got)
	}
	err := api.Pin().Update(ctx, path.FromCid(a), path.FromCid(b))
	if err == nil || err.Error() != "'from' cid was not recursively pinned already" {
		t.Fatalf("Update from a direct pin: %v", err)
	}

	if err := api.Pin().Add(ctx, path.FromCid(a)); err != nil {
		t.Fatal(err)
	}
	if fk.Pins()[a.String()] != Recursive {
		t.Fatal("a recursive pin must replace the direct one")
	}
	if err := api.Pin().Update(ctx, path.FromCid(a), path.FromCid(b)); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := fk.Pins(); len(got) != 1 || got[b.String()] != Recursive {
		t.Fatalf("after Update pins = %v, want only b", got)
	}
}

func TestClientUnixfsAddAndCat(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	ctx := context.Background()
	data := []byte("hello fake kubo\n")

	p, err := api.Unixfs().Add(ctx, files.NewBytesFile(data), caopts.Unixfs.Pin(true, ""))
	if err != nil {
		t.Fatalf("Unixfs().Add: %v", err)
	}
	want := fileCid(data, 0)
	if !p.RootCid().Equals(want) {
		t.Fatalf("added %s, want %s", p.RootCid(), want)
	}
	if fk.Pins()[want.String()] != Recursive {
		t.Fatalf("pins = %v, want %s recursive", fk.Pins(), want)
	}

	// client/rpc sends pin=false unless asked.
	p2, err := api.Unixfs().Add(ctx, files.NewBytesFile([]byte("no pin")))
	if err != nil {
		t.Fatal(err)
	}
	if fk.IsPinned(p2.RootCid()) || !fk.HasBlock(p2.RootCid()) {
		t.Fatal("pin=false must store without pinning")
	}

	res, err := api.Request("cat", p.String()).Send(ctx)
	if err != nil || res.Error != nil {
		t.Fatalf("cat: %v %v", err, res.Error)
	}
	got, err := io.ReadAll(res.Output)
	res.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("cat = %q %v, want %q", got, err, data)
	}
}

func TestClientBlockPutGet(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	ctx := context.Background()

	st, err := api.Block().Put(ctx, strings.NewReader("raw block"), caopts.Block.Pin(true))
	if err != nil {
		t.Fatalf("Block().Put: %v", err)
	}
	if st.Path().RootCid().Type() != cid.Raw || st.Size() != len("raw block") {
		t.Fatalf("Put = %s size %d", st.Path().RootCid(), st.Size())
	}
	if !fk.IsPinned(st.Path().RootCid()) {
		t.Fatal("block/put?pin=true must pin")
	}
	r, err := api.Block().Get(ctx, st.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != "raw block" {
		t.Fatalf("Get = %q", got)
	}
}

func TestClientPinWaitsForContent(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	c := testCid(t, "far away")

	errc := make(chan error, 1)
	go func() { errc <- api.Pin().Add(context.Background(), path.FromCid(c)) }()
	testkit.Eventually(t, "the pin to wait for content", func() bool { return fk.Fetching(c) == 1 })
	if fk.IsPinned(c) {
		t.Fatal("pinned before the content arrived")
	}
	fk.AddBlock(c)
	if err := <-errc; err != nil {
		t.Fatalf("Pin().Add: %v", err)
	}
	if !fk.IsPinned(c) || fk.Fetching(c) != 0 {
		t.Fatalf("pinned=%v fetching=%d", fk.IsPinned(c), fk.Fetching(c))
	}
}

func TestClientPinCancelled(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	c := testCid(t, "never")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- api.Pin().Add(ctx, path.FromCid(c)) }()
	testkit.Eventually(t, "the pin to wait", func() bool { return fk.Fetching(c) == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	testkit.Eventually(t, "the server to stop waiting", func() bool { return fk.Fetching(c) == 0 })
}

func TestClientPinOffline(t *testing.T) {
	fk := New(t)
	fk.SetOffline(true)
	api := newAPI(t, fk)
	c := testCid(t, "missing")
	err := api.Pin().Add(context.Background(), path.FromCid(c))
	want := "pin: block was not found locally (offline): ipld: could not find " + c.String()
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestClientIsPinnedIndirect(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	root, kid := testCid(t, "root"), testCid(t, "kid")
	fk.SetLinks(root, kid)
	fk.PinDirect(root, Recursive)

	typ, ok, err := api.Pin().IsPinned(context.Background(), path.FromCid(kid))
	if err != nil || !ok || typ != "indirect through "+root.String() {
		t.Fatalf("IsPinned(kid) = %q %v %v", typ, ok, err)
	}
	all := listPins(t, api)
	if all[root.String()] != Recursive || all[kid.String()] != "indirect" {
		t.Fatalf("Ls all = %v", all)
	}
	if rec := listPins(t, api, caopts.Pin.Ls.Recursive()); len(rec) != 1 {
		t.Fatalf("Ls recursive = %v", rec)
	}
}
