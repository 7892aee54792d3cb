package folderlock

import (
	"errors"
	"os"
	"testing"
)

func TestTheFolderIsHeldByOneAtATime(t *testing.T) {
	dir := t.TempDir()
	release, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); !errors.Is(err, ErrHeld) {
		t.Fatalf("a second lock of a held folder = %v, want ErrHeld", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	again, err := Lock(dir)
	if err != nil {
		t.Fatalf("the lock after its release = %v", err)
	}
	if _, err := LockIfPresent(dir); !errors.Is(err, ErrHeld) {
		t.Fatalf("a reader's lock of a held folder = %v, want ErrHeld", err)
	}
	again()
}

func TestAReaderCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	release, err := LockIfPresent(dir)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a reader's lock wrote into the folder: %v", entries)
	}
}
