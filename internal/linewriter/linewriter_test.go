package linewriter

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// sink records each write it gets.
type sink struct {
	mu     sync.Mutex
	writes []string
	err    error
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, string(p))
	return len(p), s.err
}

func (s *sink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

func TestLinesGoOutInChunks(t *testing.T) {
	s := &sink{}
	flushes := 0
	lw := New(s, func() error { flushes++; return nil })
	line := []byte(strings.Repeat("x", 99) + "\n")
	for range 2 * Chunk / len(line) {
		lw.Write(line)
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	writes := s.got()
	if len(writes) > 3 || flushes != len(writes) {
		t.Fatalf("%d writes, %d flushes, for 2 chunks of lines", len(writes), flushes)
	}
	if all := strings.Join(writes, ""); all != strings.Repeat(string(line), 2*Chunk/len(line)) {
		t.Fatal("the lines came out altered")
	}
}

// A line that no other follows reaches the writer without a Flush.
func TestALoneLineGoesOutAfterAShortWait(t *testing.T) {
	s := &sink{}
	lw := New(s, nil)
	lw.Write([]byte("one\n"))
	testkit.Eventually(t, "the line written", func() bool { return len(s.got()) == 1 })
	lw.Write([]byte("two\n"))
	testkit.Eventually(t, "the next line written", func() bool { return len(s.got()) == 2 })
	if err := lw.Flush(); err != nil || !slices.Equal(s.got(), []string{"one\n", "two\n"}) {
		t.Fatalf("writes %q, %v", s.got(), err)
	}
}

func TestAFailedWriteIsReported(t *testing.T) {
	gone := errors.New("client gone")
	lw := New(&sink{err: gone}, nil)
	lw.Write(bytes.Repeat([]byte("y\n"), Chunk))
	if _, err := lw.Write([]byte("z\n")); !errors.Is(err, gone) {
		t.Fatalf("write after a failed one: %v", err)
	}
	if err := lw.Flush(); !errors.Is(err, gone) {
		t.Fatalf("flush after a failed write: %v", err)
	}
}
