package peerrpc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// recoverPages is the client's RecoverAll, gathered page by page.
func recoverPages(client *Client, addr string) ([][]cid.Cid, error) {
	var pages [][]cid.Cid
	err := client.RecoverAll(context.Background(), addr, func(page []cid.Cid) error {
		pages = append(pages, page)
		return nil
	})
	return pages, err
}

func TestRecoverAllStreamsThePeersPages(t *testing.T) {
	local := &fakeLocal{recoverPages: [][]cid.Cid{{testCid(1), testCid(2)}, {testCid(3)}}}
	client, addr := serve(t, local)
	pages, err := recoverPages(client, addr)
	if err != nil || len(pages) != 2 || !slices.Equal(pages[0], local.recoverPages[0]) || !slices.Equal(pages[1], local.recoverPages[1]) {
		t.Fatalf("RecoverAll = %v, %v; want the peer's two pages", pages, err)
	}
	none, err := recoverPages(client, addrOf(t, &fakeLocal{}))
	if err != nil || len(none) != 0 {
		t.Fatalf("RecoverAll with nothing failed = %v, %v", none, err)
	}
}

// The pages go out as the peer makes them: the next page is made only once
// the client has the one before.
func TestRecoverAllPagesArriveBeforeTheEnd(t *testing.T) {
	got := make(chan struct{})
	local := &streamingLocal{got: got}
	client, addr := serve(t, local)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	err := client.RecoverAll(ctx, addr, func(page []cid.Cid) error {
		if n++; n == 1 {
			close(got)
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("RecoverAll = %v after %d pages, want 2", err, n)
	}
}

// streamingLocal hands on a second page only once the client has the first.
type streamingLocal struct {
	fakeLocal
	got chan struct{}
}

func (s *streamingLocal) RecoverAll(ctx context.Context, fn func([]cid.Cid) error) error {
	if err := fn([]cid.Cid{testCid(1)}); err != nil {
		return err
	}
	select {
	case <-s.got:
	case <-ctx.Done():
		return ctx.Err()
	}
	return fn([]cid.Cid{testCid(2)})
}

// A peer that fails before its first page answers an error; one that
// fails midway cuts the stream, and the client says so.
func TestRecoverAllFailures(t *testing.T) {
	client, addr := serve(t, &fakeLocal{err: errors.New("status file gone")})
	if _, err := recoverPages(client, addr); err == nil || !strings.Contains(err.Error(), "status file gone") {
		t.Fatalf("RecoverAll of a failing peer = %v", err)
	}
	midway := &fakeLocal{err: errors.New("disk full"), recoverPages: [][]cid.Cid{{testCid(1)}}}
	pages, err := recoverPages(client, addrOf(t, midway))
	if !errors.Is(err, ErrUnreachable) || len(pages) != 1 {
		t.Fatalf("RecoverAll cut midway = %v after %d pages, want the cut after one", err, len(pages))
	}
}

// A peer of an older build answers one JSON list: that is one page.
func TestRecoverAllReadsAnOlderPeersList(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`["` + testCid(1).String() + `","` + testCid(2).String() + `"]` + "\n"))
	}))
	t.Cleanup(srv.Close)
	client, _ := serve(t, &fakeLocal{})
	pages, err := recoverPages(client, strings.TrimPrefix(srv.URL, "http://"))
	if err != nil || len(pages) != 1 || len(pages[0]) != 2 {
		t.Fatalf("RecoverAll from an older peer = %v, %v", pages, err)
	}
}

// addrOf serves local and returns its address.
func addrOf(t *testing.T, local Local) string {
	t.Helper()
	_, addr := serve(t, local)
	return addr
}
