package ipfs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// updatable is a fake Kubo that holds from pinned and to's block, and a
// client of it.
func updatable(t *testing.T) (fk *fakekubo.Fake, c *Client, from, to cid.Cid) {
	t.Helper()
	fk = fakekubo.New(t)
	c = newClient(t, fk)
	from, to = testCid(t, "from"), testCid(t, "to")
	fk.PinDirect(from, fakekubo.Recursive)
	fk.AddBlock(to)
	return fk, c, from, to
}

func TestPinUpdateKeepsTheOldPin(t *testing.T) {
	fk, c, from, to := updatable(t)
	if err := c.PinUpdate(context.Background(), from, to, time.Minute); err != nil {
		t.Fatal(err)
	}
	if pins := fk.Pins(); pins[from.String()] != fakekubo.Recursive || pins[to.String()] != fakekubo.Recursive {
		t.Fatalf("pins after the update: %v, want both recursive", pins)
	}
}

// Kubo's pin/update reports no progress: an update not done after the
// timeout is abandoned, so that it cannot hold its caller for ever.
func TestPinUpdateIsAbandonedAfterTheTimeout(t *testing.T) {
	fk, c, from, to := updatable(t)
	fk.SetDelay("pin/update", time.Hour) // answers when the request ends

	const timeout = 100 * time.Millisecond
	start := time.Now()
	err := c.PinUpdate(context.Background(), from, to, timeout)
	if !errors.Is(err, ErrPinStalled) {
		t.Fatalf("err = %v, want ErrPinStalled", err)
	}
	if took := time.Since(start); took < timeout {
		t.Fatalf("gave up after %v, before the %v timeout", took, timeout)
	}
	if fk.IsPinned(to) {
		t.Fatal("pinned after the timeout")
	}

	// The caller's own end is not a stall.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	calls := fk.Calls("pin/update")
	go func() { errc <- c.PinUpdate(ctx, from, to, time.Hour) }()
	testkit.Eventually(t, "the update in flight", func() bool { return fk.Calls("pin/update") > calls })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || errors.Is(err, ErrPinStalled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
