package fakekubo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs/boxo/path"
	iface "github.com/ipfs/kubo/core/coreiface"
	caopts "github.com/ipfs/kubo/core/coreiface/options"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

func TestFailNextAndCalls(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	c := testCid(t, "c")
	fk.AddBlock(c)
	fk.FailNext("/api/v0/pin/add", 2, "injected failure")

	for i := range 2 {
		err := api.Pin().Add(context.Background(), path.FromCid(c))
		if err == nil || err.Error() != "injected failure" {
			t.Fatalf("call %d: err = %v, want the injected failure", i, err)
		}
	}
	if err := api.Pin().Add(context.Background(), path.FromCid(c)); err != nil {
		t.Fatalf("third call: %v", err)
	}
	if got := fk.Calls("pin/add"); got != 3 {
		t.Fatalf("Calls(pin/add) = %d, want 3", got)
	}
	if got := fk.AllCalls()["pin/add"]; got != 3 {
		t.Fatalf("AllCalls = %v", fk.AllCalls())
	}
}

func TestSetDelay(t *testing.T) {
	fk := New(t)
	fk.SetDelay("version", 30*time.Millisecond)
	start := time.Now()
	res := post(t, fk, "/api/v0/version")
	if res.StatusCode != 200 || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("status %d after %v", res.StatusCode, time.Since(start))
	}

	// A delayed request still ends with its context.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	fk.SetDelay("version", time.Hour)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fk.URL()+"/api/v0/version", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestSetDownRefusesAndRecovers(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	url := fk.URL()
	pending := testCid(t, "pending")

	errc := make(chan error, 1)
	go func() { errc <- api.Pin().Add(context.Background(), path.FromCid(pending)) }()
	testkit.Eventually(t, "a pin in flight", func() bool { return fk.Fetching(pending) == 1 })

	fk.SetDown(true)
	if err := <-errc; err == nil {
		t.Fatal("in-flight request survived the daemon going down")
	}
	_, err := http.Post(url+"/api/v0/version", "", nil)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want connection refused", err)
	}

	fk.SetDown(false)
	if fk.URL() != url {
		t.Fatalf("URL changed: %s -> %s", url, fk.URL())
	}
	c := testCid(t, "after")
	fk.AddBlock(c)
	if err := api.Pin().Add(context.Background(), path.FromCid(c)); err != nil {
		t.Fatalf("after SetDown(false): %v", err)
	}
}

func TestPauseAfterHoldsTheStream(t *testing.T) {
	fk := New(t)
	for i := range 10 {
		fk.PinDirect(testCid(t, fmt.Sprint(i)), Recursive)
	}
	resume := fk.PauseAfter("pin/ls", 3)
	res := post(t, fk, "/api/v0/pin/ls?stream=true")
	sc := bufio.NewScanner(res.Body)
	for i := range 3 {
		if !sc.Scan() {
			t.Fatalf("line %d missing while paused: %v", i, sc.Err())
		}
	}
	resume()
	n := 3
	for sc.Scan() {
		n++
	}
	if n != 10 {
		t.Fatalf("got %d lines, want 10", n)
	}
}

// TestConcurrentClients is for -race: many clients pinning, listing and
// unpinning while the test changes state behind their back.
func TestConcurrentClients(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				c := testCid(t, fmt.Sprint(g, "-", i))
				fk.AddBlock(c)
				if err := api.Pin().Add(ctx, path.FromCid(c), caopts.Pin.Recursive(i%2 == 0)); err != nil {
					t.Errorf("add: %v", err)
					return
				}
				if _, ok, err := api.Pin().IsPinned(ctx, path.FromCid(c)); !ok || err != nil {
					t.Errorf("IsPinned: %v %v", ok, err)
					return
				}
				_ = fk.Pins()
				if i%3 == 0 {
					fk.Unpin(c)
				} else if err := api.Pin().Rm(ctx, path.FromCid(c)); err != nil {
					t.Errorf("rm: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			ch := make(chan iface.Pin)
			errc := make(chan error, 1)
			go func() { errc <- api.Pin().Ls(ctx, ch) }()
			for range ch {
			}
			if err := <-errc; err != nil {
				t.Errorf("ls: %v", err)
				return
			}
		}
	})
	wg.Wait()
	if n := len(fk.Pins()); n != 0 {
		t.Fatalf("%d pins left", n)
	}
}

func TestCleanupEndsPendingRequests(t *testing.T) {
	errc := make(chan error, 1)
	t.Run("leaves a pin waiting", func(t *testing.T) {
		fk := New(t)
		api := newAPI(t, fk)
		c := testCid(t, "never")
		go func() { errc <- api.Pin().Add(context.Background(), path.FromCid(c)) }()
		testkit.Eventually(t, "the pin to wait", func() bool { return fk.Fetching(c) == 1 })
	})
	if err := <-errc; err == nil {
		t.Fatal("a pin pending at cleanup must fail, not succeed")
	}
}
