package ipfs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

func newClient(t *testing.T, fk *fakekubo.Fake, opts ...Option) *Client {
	t.Helper()
	c, err := New(fk.URL(), zerolog.Nop(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testCid(t testing.TB, seed string) cid.Cid {
	t.Helper()
	mh, err := multihash.Sum([]byte(seed), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV0(mh)
}

func TestNewAcceptsMultiaddr(t *testing.T) {
	fk := fakekubo.New(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(fk.URL(), "http://"))
	c, err := New("/ip4/127.0.0.1/tcp/"+port, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.ID(context.Background())
	if err != nil || id.ID != fk.ID() {
		t.Fatalf("ID = %+v %v, want %s", id, err, fk.ID())
	}
	if got := c.BaseURL().String(); got != fk.URL() {
		t.Fatalf("BaseURL = %s, want %s", got, fk.URL())
	}
	c.BaseURL().Host = "changed"
	if c.BaseURL().Host == "changed" {
		t.Fatal("BaseURL must return a copy")
	}
}

func TestNodeInfo(t *testing.T) {
	fk := fakekubo.New(t)
	fk.SetAddresses("/ip4/10.0.0.1/tcp/4001")
	fk.SetRepoStat(1000, 5000)
	fk.AddData([]byte("one object"))
	c := newClient(t, fk)
	ctx := context.Background()

	id, err := c.ID(ctx)
	if err != nil || id.ID != fk.ID() || len(id.Addresses) != 1 || id.Addresses[0] != "/ip4/10.0.0.1/tcp/4001" {
		t.Fatalf("ID = %+v, %v", id, err)
	}
	if v, err := c.Version(ctx); err != nil || v != "0.42.0" {
		t.Fatalf("Version = %q, %v", v, err)
	}
	st, err := c.RepoStat(ctx)
	if err != nil || st != (RepoStat{RepoSize: 1000, StorageMax: 5000, NumObjects: 1}) {
		t.Fatalf("RepoStat = %+v, %v", st, err)
	}
	st, err = c.RepoSize(ctx)
	if err != nil || st != (RepoStat{RepoSize: 1000, StorageMax: 5000}) {
		t.Fatalf("RepoSize = %+v, %v", st, err)
	}
}

func TestAuthorizationIsSent(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"Version":"0.42.0"}`)
	}))
	defer srv.Close()
	c, err := New(srv.URL, zerolog.Nop(), WithAuthorization("Bearer s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := <-got; h != "Bearer s3cret" {
		t.Fatalf("Authorization = %q", h)
	}
}

func TestResolve(t *testing.T) {
	fk := fakekubo.New(t)
	c := newClient(t, fk)
	ctx := context.Background()
	root, leaf := testCid(t, "root"), testCid(t, "leaf")
	fk.SetResolve("/ipfs/"+root.String()+"/a/b", leaf)
	fk.SetResolve("/ipns/docs.example.org", root)

	for _, in := range []string{root.String(), "/ipfs/" + root.String(), "ipfs://" + root.String(), "/ipns/docs.example.org", "ipns://docs.example.org"} {
		got, err := c.Resolve(ctx, in)
		if err != nil || !got.Equals(root) {
			t.Errorf("Resolve(%q) = %s, %v; want %s", in, got, err, root)
		}
	}
	if n := fk.Calls("resolve"); n != 2 {
		t.Errorf("resolve calls = %d: a bare /ipfs/<cid> must not need a round trip", n)
	}
	for _, in := range []string{"/ipfs/" + root.String() + "/a/b", root.String() + "/a/b", "ipfs://" + root.String() + "/a/b"} {
		got, err := c.Resolve(ctx, in)
		if err != nil || !got.Equals(leaf) {
			t.Errorf("Resolve(%q) = %s, %v; want %s", in, got, err, leaf)
		}
	}

	_, err := c.Resolve(ctx, "/ipfs/"+root.String()+"/nope")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Message != `no link named "nope" under `+root.String() {
		t.Fatalf("unknown subpath: %v", err)
	}
	if _, err := c.Resolve(ctx, "not a cid"); err == nil {
		t.Fatal("want an error for a non-path")
	}
}

func TestErrUnavailable(t *testing.T) {
	fk := fakekubo.New(t)
	c := newClient(t, fk)
	ctx := context.Background()
	if _, err := c.ID(ctx); err != nil {
		t.Fatal(err)
	}

	fk.SetDown(true)
	// A pooled connection the node dropped fails first (EOF or reset);
	// the dial after it is refused. Both are unavailability.
	var err error
	for range 3 {
		_, err = c.ID(ctx)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want a refused dial once the pool is empty", err)
	}
	if want := "the IPFS node at " + fk.URL() + " is not answering"; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("message %q, want it to start with %q", err, want)
	}
	for name, call := range map[string]func() error{
		"Pin":      func() error { return c.Pin(ctx, testCid(t, "x"), true, "", 0, nil) },
		"Unpin":    func() error { return c.Unpin(ctx, testCid(t, "x")) },
		"PinLs":    func() error { return c.PinLs(ctx, All, func(cid.Cid, string) error { return nil }) },
		"IsPinned": func() error { _, _, err := c.IsPinned(ctx, testCid(t, "x")); return err },
		"RepoStat": func() error { _, err := c.RepoStat(ctx); return err },
	} {
		if err := call(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
	}

	fk.SetDown(false)
	if _, err := c.ID(ctx); err != nil {
		t.Fatalf("after the node came back: %v", err)
	}
}

func TestErrUnavailableMidPin(t *testing.T) {
	fk := fakekubo.New(t)
	c := newClient(t, fk)
	ci := testCid(t, "never")
	errc := make(chan error, 1)
	go func() { errc <- c.Pin(context.Background(), ci, true, "", 0, nil) }()
	testkit.Eventually(t, "the pin to be in flight", func() bool { return fk.Fetching(ci) == 1 })
	fk.SetDown(true)
	if err := <-errc; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestNobodyListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := New("http://"+addr, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Version(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestAPIErrorKeepsKuboMessage(t *testing.T) {
	fk := fakekubo.New(t)
	c := newClient(t, fk)
	fk.FailNext("id", 1, "Kubo RPC said no")
	_, err := c.ID(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || err.Error() != "Kubo RPC said no" || ae.Command != "id" {
		t.Fatalf("err = %#v", err)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Fatal("an answer is not unavailability")
	}
}

func TestRequestTimeout(t *testing.T) {
	fk := fakekubo.New(t)
	fk.SetDelay("version", time.Hour)
	c := newClient(t, fk, WithRequestTimeout(20*time.Millisecond))
	if _, err := c.Version(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestConnectionsAreReused(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"Version":"0.42.0"}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := New(srv.URL, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 20 {
		if _, err := c.Version(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 20 sequential calls, want 1 (keep-alive)", n)
	}
}
