package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func needBootID(t *testing.T) string {
	t.Helper()
	boot := currentBoot()
	if boot == "" {
		t.Skip("this system has no boot ID: every state commit is fsynced")
	}
	return boot
}

// An open state takes its commits without fsync under a marker of this
// boot; a clean Close puts everything on disk and removes the marker.
func TestAStateClosedCleanlyLeavesNoMarker(t *testing.T) {
	boot := needBootID(t)
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, 1, pinCmd(fullPin(1)))
	if b, err := os.ReadFile(path + unsyncedSuffix); err != nil || strings.TrimSpace(string(b)) != boot {
		t.Fatalf("marker while open: %q, %v; want this boot %q", b, err, boot)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + unsyncedSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the marker outlived a clean close: %v", err)
	}
	s, err = OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertApplied(t, s, 1)
}

// A marker of another boot means the machine went down with commits not on
// disk: the file is refused before bbolt reads a page of it (a torn file
// could fault), and once set aside, an empty state opens in its place.
func TestAStateLeftUnsyncedByAnotherBootIsRefusedAndSetAside(t *testing.T) {
	needBootID(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, 1, pinCmd(fullPin(1)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// What a power cut can leave: the meta pages point nowhere useful.
	if err := os.WriteFile(path, make([]byte, 16384), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+unsyncedSuffix, []byte("a-boot-before-this-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenState(path); !errors.Is(err, ErrStateUnsynced) || !strings.Contains(err.Error(), "a-boot-before-this-one") {
		t.Fatalf("open after another boot: %v, want ErrStateUnsynced naming that boot", err)
	}
	aside, err := SetStateAside(path)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(aside) != dir {
		t.Fatalf("set aside to %s, outside the data folder", aside)
	}
	for _, f := range []string{aside, aside + unsyncedSuffix} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the torn file is not kept for inspection: %v", err)
		}
	}
	s, err = OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertApplied(t, s, 0)
	assertCount(t, s, 0)
}
