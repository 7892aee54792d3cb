package rest

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

func TestMapOrderedKeepsOrderAndBoundsWork(t *testing.T) {
	var running, peak atomic.Int32
	release := make(chan struct{})
	var got []int
	done := make(chan error, 1)
	go func() {
		done <- mapOrdered(t.Context(), 4,
			func(yield func(int) error) error {
				for i := range 20 {
					if err := yield(i); err != nil {
						return err
					}
				}
				return nil
			},
			func(_ context.Context, i int) int {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				<-release
				running.Add(-1)
				return i * 10
			},
			func(r int) error { got = append(got, r); return nil })
	}()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := make([]int, 20)
	for i := range want {
		want[i] = i * 10
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v", got)
	}
	if p := peak.Load(); p > 4 {
		t.Errorf("%d at once, want at most 4", p)
	}
}

func TestMapOrderedStopsOnSinkError(t *testing.T) {
	stop := errors.New("client gone")
	produced := 0
	err := mapOrdered(t.Context(), 2,
		func(yield func(int) error) error {
			for i := range 1000 {
				if err := yield(i); err != nil {
					return err
				}
				produced++
			}
			return nil
		},
		func(_ context.Context, i int) int { return i },
		func(r int) error {
			if r == 3 {
				return stop
			}
			return nil
		})
	if !errors.Is(err, stop) {
		t.Errorf("error %v, want the sink's", err)
	}
	if produced > 10 {
		t.Errorf("produced %d items after the sink stopped", produced)
	}
}

func TestMapOrderedReturnsProduceError(t *testing.T) {
	bad := errors.New("state unreadable")
	n := 0
	err := mapOrdered(t.Context(), 3,
		func(yield func(int) error) error {
			_ = yield(1)
			return bad
		},
		func(_ context.Context, i int) int { return i },
		func(int) error { n++; return nil })
	if !errors.Is(err, bad) || n != 1 {
		t.Errorf("error %v after %d items", err, n)
	}
}

// gatedList lets the first free pins out, then holds List until released:
// a response that buffered the whole set would never show the first one.
type gatedList struct {
	*fakeCluster
	free int
	gate chan struct{}
}

// holder counts the items let out and holds the one after the first free.
func (g gatedList) holder() func(ctx context.Context) error {
	out := 0
	return func(ctx context.Context) error {
		if out == g.free {
			select {
			case <-g.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		out++
		return nil
	}
}

func (g gatedList) List(ctx context.Context, fn func(storage.Pin) error) error {
	hold := g.holder()
	return g.fakeCluster.List(ctx, func(p storage.Pin) error {
		if err := hold(ctx); err != nil {
			return err
		}
		return fn(p)
	})
}

func (g gatedList) ListStatus(ctx context.Context, local bool, fn func(storage.Pin, types.PeerMap) error) error {
	hold := g.holder()
	return g.fakeCluster.ListStatus(ctx, local, func(p storage.Pin, pm types.PeerMap) error {
		if err := hold(ctx); err != nil {
			return err
		}
		return fn(p, pm)
	})
}

// streamCases are the streamed listings: pins are the pins to list and
// first how many make the first line.
var streamCases = []struct {
	path        string
	pins, first int
}{
	{"/pins", 3, 1},
	{"/pins?local=true", 3, 1},
	{"/allocations", 3, 1},
}

func TestStreamsFlushBeforeTheListEnds(t *testing.T) {
	for _, tc := range streamCases {
		path := tc.path
		t.Run(path, func(t *testing.T) {
			e := newEnv(t, Config{})
			pinSome(t, e, tc.pins)
			g := gatedList{fakeCluster: e.fc, free: tc.first, gate: make(chan struct{})}
			srv := httptest.NewServer(NewWithConfig(g, Config{Log: zerolog.Nop()}))
			defer srv.Close()

			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
			if err != nil {
				t.Fatalf("first item not flushed while the list was held: %v", err)
			}
			if resp.StatusCode != http.StatusOK || len(object(t, line)) == 0 {
				t.Errorf("status %d, first line %s", resp.StatusCode, line)
			}
			close(g.gate)
		})
	}
}
