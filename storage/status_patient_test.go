package storage

import (
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// txID is the id of the status file's last committed transaction: one
// more per commit.
func txID(t *testing.T, s *StatusStore) int {
	t.Helper()
	var id int
	if err := s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// queuedWrites is how many writes wait in the group commit's queue.
func queuedWrites(s *StatusStore) int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return len(s.group.queue)
}

// returns runs write and fails the test unless it returns, without error,
// long before the hour of patience that a write may wait for company.
func returns(t *testing.T, what string, write func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- write() }()
	var err error
	testkit.Eventually(t, what+" to commit at once", func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	}, testkit.Within(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
}

// Patient writes that come right after a commit wait for company, and the
// first write that may not wait takes them all into its commit: one fsync
// for all of them.
func TestPatientWritesShareTheNextCommit(t *testing.T) {
	s := openTestStatus(t)
	if err := s.Put(status(0, StatusPinned)); err != nil {
		t.Fatal(err)
	}
	const patient = 5
	var wg sync.WaitGroup
	errs := make(chan error, patient)
	for i := 1; i <= patient; i++ {
		wg.Go(func() { errs <- s.Patient(time.Hour).Put(status(i, StatusPinning)) })
	}
	// Within the hour after the last commit, none of them commits alone.
	testkit.Eventually(t, "the patient writes to queue", func() bool { return queuedWrites(s) == patient },
		testkit.Within(10*time.Second))
	before := txID(t, s)
	returns(t, "a write that may not wait", func() error { return s.Put(status(patient+1, StatusPinQueued)) })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if after := txID(t, s); after != before+1 {
		t.Fatalf("%d patient writes and one that may not wait took %d commits, want 1", patient, after-before)
	}
	for i := 1; i <= patient; i++ {
		if st, known, err := s.Get(testCid(i)); err != nil || !known || st.Status != StatusPinning {
			t.Fatalf("patient write %d: %+v known=%v err=%v", i, st, known, err)
		}
	}
	checkIndex(t, s)
}

// A patient write waits only after a recent commit: with none since
// longer than its patience, it commits at once, however patient it is.
func TestAPatientWriteAfterAQuietSpellCommitsAtOnce(t *testing.T) {
	s := openTestStatus(t)
	if err := s.Put(status(0, StatusPinned)); err != nil {
		t.Fatal(err)
	}
	s.group.mu.Lock()
	s.group.lastCommit = time.Now().Add(-2 * time.Minute)
	s.group.mu.Unlock()
	returns(t, "a patient write two minutes after the last commit, its patience a minute", func() error {
		return s.Patient(time.Minute).Put(status(1, StatusPinning))
	})
}

// A full batch waits for no more company.
func TestAFullBatchOfPatientWritesCommitsAtOnce(t *testing.T) {
	s := openTestStatus(t)
	if err := s.Put(status(0, StatusPinned)); err != nil {
		t.Fatal(err)
	}
	sts := make([]LocalStatus, maxGroup)
	for i := range sts {
		sts[i] = status(i+1, StatusPinQueued)
	}
	returns(t, "a patient write of a full batch", func() error { return s.putMany(sts, time.Hour) })
	if n := s.Count(StatusPinQueued); n != maxGroup {
		t.Fatalf("%d records queued, want %d", n, maxGroup)
	}
}
