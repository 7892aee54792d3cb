package tracker_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestFailedPinSucceedsOnRetry(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.kubo.FailNext("pin/add", 1, "pin: the node is busy")
	f.pin(here(c))
	if err := f.waitPinned(c, nil); err == nil || err.Error() != "pin: the node is busy" {
		t.Fatalf("WaitPinned = %v, want the failed pin's error", err)
	}
	eventually(t, "the retry to pin it", func() bool {
		st, _ := f.localStatus(c)
		return f.kubo.IsPinned(c) && st.Status == storage.StatusPinned && st.AttemptCount == 0 && st.Error == ""
	})
	f.wantCalls("pin/add", 2, "one failure, one retry")
}

// A failed pin is never given up: its backoff doubles MaxRetries times,
// then it is retried at that capped pace until it works, with no recover.
func TestFailedPinKeepsRetryingAtTheCappedBackoff(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRetries, cfg.RetryBackoff = 2, 50*time.Millisecond
	var mu sync.Mutex
	var failures []time.Time
	cfg.ObservePin = func(_ time.Duration, ok bool) {
		if !ok {
			mu.Lock()
			failures = append(failures, time.Now())
			mu.Unlock()
		}
	}
	f := newFixture(t, cfg)
	f.kubo.SetOffline(true) // content it lacks fails at once, as Kubo offline
	bad := testCid(1)
	f.pin(here(bad))
	err := f.waitPinned(bad, nil)
	if err == nil || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("WaitPinned = %v, want the pin's error", err)
	}
	const attempts = 6 // three past the last doubling
	eventually(t, "the pin still retried past MaxRetries", func() bool {
		st, _ := f.localStatus(bad)
		return st.Status == storage.StatusPinError && st.AttemptCount >= attempts
	})

	// Its one warning, at the last doubling, says when the next try is,
	// as a duration.
	warned := f.warnings.Find("IPFS operation failed; will retry", nil)
	if len(warned) != 1 {
		t.Fatalf("%d warnings of the failing pin, want one: %v", len(warned), warned)
	}
	if d, ok := warned[0]["retry_in"].(string); !ok || d != (cfg.RetryBackoff<<cfg.MaxRetries).String() {
		t.Fatalf("%v: want retry_in %s", warned[0], cfg.RetryBackoff<<cfg.MaxRetries)
	}

	// A pin that works still goes through meanwhile.
	good := testCid(2)
	f.kubo.AddBlock(good)
	f.mustPin(here(good))

	// Each retry waits RetryBackoff << min(failures, MaxRetries): the gaps
	// grow to the cap, then stay there.
	mu.Lock()
	got := slices.Clone(failures[:attempts])
	mu.Unlock()
	for i := 1; i < len(got); i++ {
		if gap, least := got[i].Sub(got[i-1]), cfg.RetryBackoff<<min(i, cfg.MaxRetries); gap < least {
			t.Fatalf("retry %d came %v after the failure before it, want at least %v", i, gap, least)
		}
	}
	// Three capped gaps are 3 x 200ms; had the backoff kept doubling they
	// would be 400+800+1600ms.
	capped := cfg.RetryBackoff << cfg.MaxRetries
	if span, doubling := got[5].Sub(got[2]), 14*capped; span >= doubling {
		t.Fatalf("the last three retries took %v: the backoff kept growing past MaxRetries", span)
	}

	// Once the content is there, the next retry pins it, with no recover.
	f.kubo.SetOffline(false)
	f.kubo.AddBlock(bad)
	eventually(t, "the failed pin retried until it worked", func() bool {
		st, _ := f.localStatus(bad)
		return st.Status == storage.StatusPinned && st.AttemptCount == 0 && st.Error == "" && f.kubo.IsPinned(bad)
	})
}

// A pin that keeps failing says since when (the CLI's SINCE): its retries,
// each through pinning and back to pin_error, leave its timestamp at its
// first failure while the attempts add up; pinned at last, it is pinned
// since then.
func TestAFailingPinIsInErrorSinceItsFirstFailure(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRetries, cfg.RetryBackoff = 1, 20*time.Millisecond
	f := newFixture(t, cfg)
	f.kubo.SetOffline(true)
	c := testCid(1)
	f.pin(here(c))
	if err := f.waitPinned(c, nil); err == nil {
		t.Fatal("pin with the content offline succeeded")
	}
	var first storage.LocalStatus
	eventually(t, "the first failure recorded", func() bool {
		first, _ = f.localStatus(c)
		return first.Status == storage.StatusPinError && first.AttemptCount == 1
	})
	var later storage.LocalStatus
	eventually(t, "two retries failed", func() bool {
		later, _ = f.localStatus(c)
		return later.Status == storage.StatusPinError && later.AttemptCount >= 3
	})
	if !later.Timestamp.Equal(first.Timestamp) {
		t.Fatalf("after %d attempts in error since %v; the first failure was at %v", later.AttemptCount, later.Timestamp, first.Timestamp)
	}
	f.kubo.SetOffline(false)
	f.kubo.AddBlock(c)
	var pinned storage.LocalStatus
	eventually(t, "the retry that pins it", func() bool {
		pinned, _ = f.localStatus(c)
		return pinned.Status == storage.StatusPinned
	})
	if !pinned.Timestamp.After(later.Timestamp) {
		t.Fatalf("pinned since %v, not after its first failure %v", pinned.Timestamp, later.Timestamp)
	}
}

func TestRecoverQueuesAFailedPinAgain(t *testing.T) {
	cfg := testConfig()
	cfg.RetryBackoff = time.Hour // no retry on its own during the test
	f := newFixture(t, cfg)
	f.kubo.SetOffline(true)
	a, b := testCid(1), testCid(2)
	for _, c := range []cid.Cid{a, b} {
		f.pin(here(c))
		if err := f.waitPinned(c, nil); err == nil {
			t.Fatalf("pin of %s with the content offline succeeded", c)
		}
	}
	good := testCid(3)
	f.kubo.AddBlock(good)
	f.mustPin(here(good))
	f.wantCalls("pin/add", 3, "a failed pin is not retried before its backoff")
	if f.tr.Recover(context.Background(), good) {
		t.Fatal("Recover reported a pinned CID as recovered")
	}

	f.kubo.SetOffline(false)
	f.kubo.AddBlock(a)
	f.kubo.AddBlock(b)
	if !f.tr.Recover(context.Background(), a) {
		t.Fatal("Recover did not queue the failed pin")
	}
	if err := f.waitPinned(a, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.localStatus(a); st.AttemptCount != 0 || st.Error != "" {
		t.Fatalf("a recovered pin kept its failure: %+v", st)
	}
	if got := f.recoverAll(); !slices.Equal(got, []cid.Cid{b}) {
		t.Fatalf("RecoverAll queued %v, want [%s]", got, b)
	}
	if err := f.waitPinned(b, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.recoverAll(); len(got) != 0 {
		t.Fatalf("RecoverAll with nothing failed queued %v", got)
	}
	if !f.kubo.IsPinned(a) || !f.kubo.IsPinned(b) {
		t.Fatal("recovered pins are not on IPFS")
	}
}

// RecoverAll works a page at a time: each page is queued in one write and
// handed on before the next is read, in CID order.
func TestRecoverAllGoesPageByPage(t *testing.T) {
	f := newFixture(t, testConfig())
	const n = 2*tracker.RecoverBatch + 10
	later := time.Now().Add(time.Hour).UTC() // not retried on their own meanwhile
	var failed []storage.LocalStatus
	for i := range n {
		failed = append(failed, storage.LocalStatus{Cid: testCid(i), Status: storage.StatusPinError, Error: "boom", AttemptCount: 1, RetryAt: later})
	}
	if err := f.status.PutMany(failed); err != nil {
		t.Fatal(err)
	}
	var pages [][]cid.Cid
	err := f.tr.RecoverAll(context.Background(), func(page []cid.Cid) error {
		for _, c := range page {
			if f.statusIs(c, storage.StatusPinError) {
				t.Errorf("%s handed on before it was queued again", c)
			}
		}
		pages = append(pages, page)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var all []cid.Cid
	for _, p := range pages {
		if len(p) > tracker.RecoverBatch {
			t.Fatalf("a page of %d CIDs, more than RecoverBatch", len(p))
		}
		all = append(all, p...)
	}
	if len(pages) != 3 || len(all) != n {
		t.Fatalf("%d CIDs in %d pages, want %d in 3", len(all), len(pages), n)
	}
	if !slices.IsSortedFunc(all, func(a, b cid.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) }) {
		t.Fatal("RecoverAll did not go in CID order")
	}

	// An error from fn stops it after the page it was told of.
	stop := errors.New("stop")
	for i := range failed {
		failed[i].Cid = testCid(n + i)
	}
	if err := f.status.PutMany(failed); err != nil {
		t.Fatal(err)
	}
	calls := 0
	err = f.tr.RecoverAll(context.Background(), func([]cid.Cid) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("RecoverAll = %v after %d pages, want the error after one", err, calls)
	}
}
