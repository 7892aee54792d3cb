package proxy

import (
	"bytes"
	"context"
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
	mh "github.com/multiformats/go-multihash"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func cidOf(s string) cid.Cid {
	h, _ := mh.Sum([]byte(s), mh.SHA2_256, -1)
	return cid.NewCidV0(h)
}

// kuboAddUpstream answers add like Kubo, naming the upload by its hash.
func kuboAddUpstream(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/v0/version":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Version":"0.42.0","Commit":"","Repo":"18","System":"amd64/linux","Golang":"go1.26.4"}`+"\n")
	case "/api/v0/add":
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Chunked-Output", "1")
		w.Header().Set("Trailer", "X-Stream-Error")
		io.WriteString(w, `{"Name":"`+cidOf(string(body)).String()+`","Hash":"`+cidOf(string(body)).String()+`","Size":"5"}`+"\n")
	default:
		http.Error(w, "unexpected "+r.URL.Path, http.StatusTeapot)
	}
}

func listViaClient(t *testing.T, api *rpc.HttpApi, opts ...caopts.PinLsOption) map[string]string {
	t.Helper()
	ch := make(chan iface.Pin)
	errc := make(chan error, 1)
	go func() { errc <- api.Pin().Ls(context.Background(), ch, opts...) }()
	out := map[string]string{}
	for p := range ch {
		out[p.Path().RootCid().String()] = p.Type() + "/" + p.Name()
	}
	if err := <-errc; err != nil {
		t.Fatalf("Ls: %v", err)
	}
	return out
}

// TestKuboGoClient drives the proxy with Kubo's own Go client: if
// client/rpc is satisfied, the pin calls are drop-in.
func TestKuboGoClient(t *testing.T) {
	m := newMemCluster()
	base := serveProxy(t, http.HandlerFunc(kuboAddUpstream), func(up string) Intercepted { return wiredHandlers(t, up, m) })
	api, err := rpc.NewURLApiWithClient(base, &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, b, c := cidOf("a"), cidOf("b"), cidOf("c")

	if err := api.Pin().Add(ctx, path.FromCid(a)); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := api.Pin().Add(ctx, path.FromCid(b), caopts.Pin.Recursive(false), caopts.Pin.Name("bee")); err != nil {
		t.Fatalf("Add direct: %v", err)
	}
	if p, _ := m.Stored(b); p.Mode != storage.Direct || p.Name != "bee" {
		t.Errorf("direct pin %+v", p)
	}

	if got := listViaClient(t, api); len(got) != 2 || got[a.String()] != "recursive/" || got[b.String()] != "direct/" {
		t.Errorf("Ls %v", got)
	}
	if got := listViaClient(t, api, caopts.Pin.Ls.Detailed(true), caopts.Pin.Ls.Direct()); len(got) != 1 || got[b.String()] != "direct/bee" {
		t.Errorf("Ls direct detailed %v", got)
	}

	typ, ok, err := api.Pin().IsPinned(ctx, path.FromCid(a))
	if err != nil || !ok || typ != "recursive" {
		t.Errorf("IsPinned(a) = %q %v %v", typ, ok, err)
	}
	typ, ok, err = api.Pin().IsPinned(ctx, path.FromCid(c))
	if err != nil || ok || typ != "" {
		t.Errorf("IsPinned(unpinned) = %q %v %v, want \"\" false nil", typ, ok, err)
	}
	if _, ok, err = api.Pin().IsPinned(ctx, path.FromCid(a), caopts.Pin.IsPinned.Direct()); ok || err != nil {
		t.Errorf("IsPinned(a, direct) = %v %v", ok, err)
	}

	if err := api.Pin().Update(ctx, path.FromCid(a), path.FromCid(c)); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if p, ok := m.Stored(c); !ok || p.PinUpdate != a {
		t.Errorf("updated pin %+v", p)
	}
	if _, ok := m.Stored(a); ok {
		t.Error("Update kept the old pin")
	}
	if err := api.Pin().Update(ctx, path.FromCid(a), path.FromCid(c)); err == nil ||
		!strings.Contains(err.Error(), "'from' cid was not recursively pinned already") {
		t.Errorf("Update from unpinned: %v", err)
	}

	if err := api.Pin().Rm(ctx, path.FromCid(c)); err != nil {
		t.Fatalf("Rm: %v", err)
	}
	if err := api.Pin().Rm(ctx, path.FromCid(c)); err == nil || err.Error() != "not pinned or pinned indirectly" {
		t.Errorf("Rm absent: %v", err)
	}

	// Unixfs().Add with Pin(true) goes to the upstream with pin=false; the
	// pin is the cluster's. (client/rpc never sends pin-name.)
	added, err := api.Unixfs().Add(ctx, files.NewReaderFile(bytes.NewReader([]byte("hello"))), caopts.Unixfs.Pin(true, ""))
	if err != nil {
		t.Fatalf("Unixfs.Add: %v", err)
	}
	if p, ok := m.Stored(added.RootCid()); !ok || p.Mode != storage.Recursive {
		t.Errorf("added %s not pinned in the cluster: %+v", added.RootCid(), p)
	}
}
