package intercept

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// In "pinned" mode pin rm answers only once this peer's node dropped every
// removed pin, after all the commits, as Kubo's does.
func TestPinRmWaitsUntilUnpinned(t *testing.T) {
	a, b := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(a, "x"), recursivePin(b, ""))
	release := make(chan struct{})
	var mu sync.Mutex
	var waited []storage.Pin
	f.OnWaitUnpinned(func(ctx context.Context, was storage.Pin) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		waited = append(waited, was)
		mu.Unlock()
		return nil
	})
	h := newTestHandlers(t, f, nil, "", true)
	done := make(chan string, 1)
	go func() {
		res := post(t, h, "/api/v0/pin/rm?arg="+a.String()+"&arg="+b.String(), nil)
		done <- readBody(t, res)
	}()
	select {
	case body := <-done:
		t.Fatalf("answered before the node dropped the pins: %q", body)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if body := <-done; body != fmt.Sprintf(`{"Pins":["%s","%s"]}`+"\n", a, b) {
		t.Errorf("body %q", body)
	}
	calls := f.Calls()
	want := []string{"unpin " + a.String(), "unpin " + b.String()}
	if !sameSet(calls[:2], want) || len(calls) != 4 {
		t.Errorf("calls %v: want the unpins first, then two waits", calls)
	}
	if len(waited) != 2 || (waited[0].Name != "x" && waited[1].Name != "x") {
		t.Errorf("waited for %+v, want the removed pins as they were", waited)
	}
}

func TestPinRmUnpinErrorIsKubos(t *testing.T) {
	a := testCid(1)
	f := newFakeCluster(recursivePin(a, ""))
	f.OnWaitUnpinned(func(context.Context, storage.Pin) error {
		return errors.New("context deadline exceeded")
	})
	h := newTestHandlers(t, f, nil, "", true)
	res := post(t, h, "/api/v0/pin/rm?arg="+a.String(), nil)
	checkGolden(t, res, 500, kuboHeaders(), `{"Message":"context deadline exceeded","Code":0,"Type":"error"}`+"\n")
}

func TestPinRmCommittedModeDoesNotWait(t *testing.T) {
	a := testCid(1)
	f := newFakeCluster(recursivePin(a, ""))
	f.OnWaitUnpinned(func(context.Context, storage.Pin) error { return errors.New("must not wait") })
	h := newTestHandlers(t, f, nil, "", false)
	res := post(t, h, "/api/v0/pin/rm?arg="+a.String(), nil)
	if body := readBody(t, res); body != fmt.Sprintf(`{"Pins":["%s"]}`+"\n", a) {
		t.Errorf("body %q", body)
	}
	if got := f.Calls(); !slices.Equal(got, []string{"unpin " + a.String()}) {
		t.Errorf("calls %v", got)
	}
}
