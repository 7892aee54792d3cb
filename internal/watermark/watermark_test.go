package watermark

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSetNeverLowersTheMark(t *testing.T) {
	w := New()
	if got := w.Get(); got != 0 {
		t.Fatalf("a new watermark is at %d, want 0", got)
	}
	w.Set(5)
	w.Set(3)
	if got := w.Get(); got != 5 {
		t.Fatalf("after Set(5), Set(3) the mark is %d, want 5", got)
	}
}

func TestWaitReturnsAtOnceForAReachedMark(t *testing.T) {
	w := New()
	w.Set(7)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a reached mark must not even look at ctx
	for _, i := range []uint64{0, 6, 7} {
		if err := w.Wait(ctx, i); err != nil {
			t.Fatalf("Wait(%d) at mark 7: %v", i, err)
		}
	}
}

func TestWaitWakesWhenTheMarkIsReached(t *testing.T) {
	w := New()
	done := make(chan error, 1)
	go func() { done <- w.Wait(context.Background(), 3) }()

	w.Set(2) // below what the waiter wants: it keeps waiting
	select {
	case err := <-done:
		t.Fatalf("Wait(3) returned at mark 2: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	w.Set(4)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait(3) did not return after the mark rose to 4")
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	w := New()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := w.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on an unreached mark = %v, want the context's deadline", err)
	}
}

func TestManyWaitersAllWake(t *testing.T) {
	w := New()
	const n = 50
	done := make(chan error, n)
	for i := range n {
		go func() { done <- w.Wait(context.Background(), uint64(i%5)+1) }()
	}
	w.Set(5)
	for range n {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a waiter was not woken")
		}
	}
}
