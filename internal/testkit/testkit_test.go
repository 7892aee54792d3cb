package testkit

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// failures records what Eventually reports instead of failing the test.
type failures struct {
	testing.TB
	msgs []string
}

func (f *failures) Helper() {}

func (f *failures) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	var checks atomic.Int32
	f := &failures{TB: t}
	Eventually(f, "the third check", func() bool { return checks.Add(1) == 3 }, Every(time.Millisecond))
	if len(f.msgs) != 0 || checks.Load() != 3 {
		t.Fatalf("checked %d times, failures %q", checks.Load(), f.msgs)
	}
}

func TestEventuallyFailsNamingWhatAndHowLong(t *testing.T) {
	f := &failures{TB: t}
	start := time.Now()
	Eventually(f, "a condition that never holds", func() bool { return false }, Within(50*time.Millisecond), Every(5*time.Millisecond))
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("gave up after %s, before its deadline", waited)
	}
	want := "timed out after 50ms waiting for a condition that never holds"
	if len(f.msgs) != 1 || f.msgs[0] != want {
		t.Fatalf("failures %q, want one: %q", f.msgs, want)
	}
}

func TestEventuallyNeedsNoOptions(t *testing.T) {
	f := &failures{TB: t}
	Eventually(f, "a condition that holds at once", func() bool { return true })
	if len(f.msgs) != 0 {
		t.Fatalf("failures %q", f.msgs)
	}
}
