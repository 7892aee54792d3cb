// Package powercut is a file system for tests of what survives a power
// cut: a FUSE mount over a backing folder that forgets, on Cut, every write
// that no fsync made durable, as a machine that loses power does. A
// process's crash (kill -9) loses nothing the kernel took: its writes sit in
// the page cache. A power cut loses what sat there, and only programs that
// fsync at the right moments keep what they acknowledged.
//
// Writes go through to the backing files at once, so reads, mmap (bbolt
// reads its file through one) and sizes behave as on any file system. Before
// each write, truncation or allocation, the file system keeps the bytes and
// the size it replaces; an fsync or fdatasync of the file drops what it
// kept for that file. Cut unmounts and puts the kept bytes back, newest
// first, which leaves every file as its last fsync left it.
//
// The model is the strict one (Jepsen's LazyFS "clear cache"): every
// unsynced write is lost, none survives in part. Names are not modelled: a
// create, rename or unlink is durable at once, as if every directory were
// fsynced after it.
package powercut

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// FS is a mounted power-cut file system.
type FS struct {
	backing, mountpoint string
	server              *fuse.Server

	mu sync.Mutex
	// undo holds, per backing inode, what each write since its last fsync
	// replaced, oldest first.
	undo map[uint64][]replaced
}

// replaced is what one change of a file overwrote: the bytes at off (none
// beyond the old end) and the size before it.
type replaced struct {
	off     int64
	old     []byte
	oldSize int64
}

// Mount serves backing at mountpoint, both existing folders.
func Mount(backing, mountpoint string) (*FS, error) {
	f := &FS{backing: backing, mountpoint: mountpoint}
	return f, f.mount()
}

// Mountpoint is where the file system is mounted.
func (f *FS) Mountpoint() string { return f.mountpoint }

func (f *FS) mount() error {
	var st syscall.Stat_t
	if err := syscall.Stat(f.backing, &st); err != nil {
		return fmt.Errorf("powercut: %w", err)
	}
	f.undo = map[uint64][]replaced{}
	root := &fusefs.LoopbackRoot{Path: f.backing, Dev: uint64(st.Dev)}
	root.NewNode = func(r *fusefs.LoopbackRoot, _ *fusefs.Inode, _ string, _ *syscall.Stat_t) fusefs.InodeEmbedder {
		return &node{LoopbackNode: fusefs.LoopbackNode{RootData: r}, fs: f}
	}
	rootNode := root.NewNode(root, nil, "", &st)
	root.RootNode = rootNode
	server, err := fusefs.Mount(f.mountpoint, rootNode, &fusefs.Options{
		// As root, the mount(2) call itself: no fusermount to install.
		MountOptions: fuse.MountOptions{FsName: "powercut", Name: "powercut", DisableXAttrs: true, DirectMount: true},
	})
	if err != nil {
		return fmt.Errorf("powercut: mount %s: %w", f.mountpoint, err)
	}
	f.server = server
	return nil
}

// Unmount unmounts, keeping every write: a clean shutdown, which flushes
// the page cache. Every process using the mount must have stopped.
//
// A mount namespace made while the file system was mounted (a daemon
// under test runs in one, for a boot ID of its own) holds a copy of the
// mount, which keeps the file system's connection, and its server, alive
// after the unmount here for as long as that namespace lives: Unmount then
// aborts the connection, as the power would.
func (f *FS) Unmount() error {
	if f.server == nil {
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Stat(f.mountpoint, &st); err != nil {
		return err
	}
	if err := syscall.Unmount(f.mountpoint, 0); err != nil {
		return err
	}
	if err := abortConnection(unix.Minor(st.Dev)); err != nil {
		return err
	}
	f.server.Wait()
	f.server = nil
	return nil
}

// fuseConnections is where the kernel lists FUSE's live connections.
const fuseConnections = "/sys/fs/fuse/connections"

// abortConnection ends the FUSE connection numbered conn, if it still
// lives, so that every request on it fails and its server returns.
func abortConnection(conn uint32) error {
	if err := mountFusectl(); err != nil {
		return err
	}
	abort := filepath.Join(fuseConnections, strconv.FormatUint(uint64(conn), 10), "abort")
	err := os.WriteFile(abort, []byte("1"), 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil // it ended with the unmount
	}
	return err
}

// mountFusectl mounts the file system of FUSE's connections, unless it is.
func mountFusectl() error {
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return err
	}
	if strings.Contains(string(mounts), " "+fuseConnections+" fusectl ") {
		return nil
	}
	if err := syscall.Mount("fusectl", fuseConnections, "fusectl", 0, ""); err != nil {
		return fmt.Errorf("powercut: mount fusectl: %w", err)
	}
	return nil
}

// Cut unmounts and undoes every write no fsync made durable, then mounts
// the file system again over what is left: the machine back from a power
// cut. Every process using the mount must have stopped (killed). It
// returns how many writes were lost.
func (f *FS) Cut() (int, error) {
	if err := f.Unmount(); err != nil {
		return 0, fmt.Errorf("powercut: unmount: %w", err)
	}
	lost, err := f.restore()
	if err != nil {
		return lost, err
	}
	return lost, f.mount()
}

// restore puts back what the unsynced writes replaced.
func (f *FS) restore() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	paths, err := pathsByInode(f.backing)
	if err != nil {
		return 0, err
	}
	lost := 0
	for ino, changes := range f.undo {
		path, ok := paths[ino]
		if !ok {
			continue // removed since: nothing left to restore
		}
		if err := undoChanges(path, changes); err != nil {
			return lost, err
		}
		lost += len(changes)
	}
	f.undo = map[uint64][]replaced{}
	return lost, nil
}

func undoChanges(path string, changes []replaced) error {
	file, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("powercut: restore %s: %w", path, err)
	}
	defer file.Close()
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		if _, err := file.WriteAt(c.old, c.off); err != nil {
			return fmt.Errorf("powercut: restore %s: %w", path, err)
		}
		if err := file.Truncate(c.oldSize); err != nil {
			return fmt.Errorf("powercut: restore %s: %w", path, err)
		}
	}
	return file.Sync()
}

// pathsByInode maps the inode of every regular file under dir to its path.
func pathsByInode(dir string) (map[uint64]string, error) {
	out := map[uint64]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			return err
		}
		out[st.Ino] = path
		return nil
	})
	return out, err
}

// keep records what a change of length bytes at off, in the file open as
// fd, is about to replace.
func (f *FS) keep(fd int, off, length int64) syscall.Errno {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fusefs.ToErrno(err)
	}
	end := min(off+length, st.Size)
	var old []byte
	if end > off {
		old = make([]byte, end-off)
		if _, err := syscall.Pread(fd, old, off); err != nil {
			return fusefs.ToErrno(err)
		}
	}
	f.mu.Lock()
	f.undo[st.Ino] = append(f.undo[st.Ino], replaced{off: off, old: old, oldSize: st.Size})
	f.mu.Unlock()
	return 0
}

// synced forgets what the file open as fd kept: it is on disk.
func (f *FS) synced(fd int) syscall.Errno {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fusefs.ToErrno(err)
	}
	f.mu.Lock()
	delete(f.undo, st.Ino)
	f.mu.Unlock()
	return 0
}

// errNoFd means a handle is not one of the loopback's own.
var errNoFd = errors.New("powercut: a file handle without a descriptor")
