package storage

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const crashDirEnv = "FLOTILLA_STORAGE_CRASH_DIR"

// crashWriter runs in a child process: it commits, reports, and waits to be
// killed without a chance to close anything.
func crashWriter(dir string) {
	s, err := OpenState(filepath.Join(dir, "state.db"))
	if err != nil {
		panic(err)
	}
	ss, err := OpenStatusStore(filepath.Join(dir, "status.db"))
	if err != nil {
		panic(err)
	}
	for i := range 50 {
		if _, err := s.Apply(uint64(i+1), pinCmd(fullPin(i))); err != nil {
			panic(err)
		}
	}
	if _, err := s.Apply(51, unpinCmd(testCid(0))); err != nil {
		panic(err)
	}
	if err := ss.Put(LocalStatus{Cid: testCid(1), Status: StatusPinning, Managed: true}); err != nil {
		panic(err)
	}
	fmt.Println("committed")
	select {}
}

// TestCrashKeepsCommittedData kills a writer with SIGKILL after its applies
// returned, then opens its files: everything committed must be there.
func TestCrashKeepsCommittedData(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashWriter(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsCommittedData$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "committed" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The child's commits skipped fsync: only the page cache held them.
	if _, err := os.Stat(filepath.Join(dir, "state.db"+unsyncedSuffix)); currentBoot() != "" && err != nil {
		t.Fatalf("no marker of commits without fsync after the crash: %v", err)
	}

	s, err := OpenState(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertApplied(t, s, 51)
	assertCount(t, s, 49)
	for i := 1; i < 50; i++ {
		if p, err := s.Get(testCid(i)); err != nil || !reflect.DeepEqual(p, fullPin(i)) {
			t.Fatalf("pin %d after crash: %+v, %v", i, p, err)
		}
	}
	ss, err := OpenStatusStore(filepath.Join(dir, "status.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	if st, ok, err := ss.Get(testCid(1)); !ok || err != nil || st.Status != StatusPinning || !st.Managed {
		t.Errorf("status after crash: %+v, %v, %v", st, ok, err)
	}
}
