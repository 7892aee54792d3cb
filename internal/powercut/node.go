package powercut

import (
	"context"
	"path/filepath"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a loopback node whose open files keep what they overwrite.
type node struct {
	fusefs.LoopbackNode
	fs *FS
}

var (
	_ fusefs.NodeOpener    = (*node)(nil)
	_ fusefs.NodeCreater   = (*node)(nil)
	_ fusefs.NodeSetattrer = (*node)(nil)
)

func (n *node) Open(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return n.fs.wrap(fh), fuseFlags, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fusefs.Inode, fusefs.FileHandle, uint32, syscall.Errno) {
	inode, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return inode, n.fs.wrap(fh), fuseFlags, 0
}

// Setattr keeps what a truncation cuts or the size it grows from, whether
// it comes through an open file or by name.
func (n *node) Setattr(ctx context.Context, fh fusefs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		if errno := n.keepTruncation(fh, int64(size)); errno != 0 {
			return errno
		}
	}
	return n.LoopbackNode.Setattr(ctx, fh, in, out)
}

func (n *node) keepTruncation(fh fusefs.FileHandle, size int64) syscall.Errno {
	if f, ok := fh.(*file); ok {
		return n.fs.keep(f.fd, size, maxKept)
	}
	path := filepath.Join(n.RootData.Path, n.Path(n.Root()))
	fd, err := syscall.Open(path, syscall.O_RDONLY, 0)
	if err != nil {
		return fusefs.ToErrno(err)
	}
	defer syscall.Close(fd)
	return n.fs.keep(fd, size, maxKept)
}

// maxKept stands for "to the end of the file" in keep.
const maxKept = 1 << 62

// file is an open loopback file whose changes are kept until its fsync.
type file struct {
	*fusefs.LoopbackFile
	fd int
	fs *FS
}

func (f *FS) wrap(fh fusefs.FileHandle) fusefs.FileHandle {
	lf, ok := fh.(*fusefs.LoopbackFile)
	if !ok {
		panic(errNoFd)
	}
	fd, _ := lf.PassthroughFd()
	return &file{LoopbackFile: lf, fd: fd, fs: f}
}

var (
	_ fusefs.FileWriter          = (*file)(nil)
	_ fusefs.FileWritever        = (*file)(nil)
	_ fusefs.FileFsyncer         = (*file)(nil)
	_ fusefs.FileAllocater       = (*file)(nil)
	_ fusefs.FilePassthroughFder = (*file)(nil)
)

// PassthroughFd declines the kernel's passthrough, which would send the
// writes straight to the backing file, past keep.
func (f *file) PassthroughFd() (int, bool) { return -1, false }

func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if errno := f.fs.keep(f.fd, off, int64(len(data))); errno != 0 {
		return 0, errno
	}
	return f.LoopbackFile.Write(ctx, data, off)
}

func (f *file) Writev(ctx context.Context, data [][]byte, off int64) (uint32, syscall.Errno) {
	var n int64
	for _, d := range data {
		n += int64(len(d))
	}
	if errno := f.fs.keep(f.fd, off, n); errno != 0 {
		return 0, errno
	}
	return f.LoopbackFile.Writev(ctx, data, off)
}

func (f *file) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	if errno := f.fs.keep(f.fd, int64(off), int64(size)); errno != 0 {
		return errno
	}
	return f.LoopbackFile.Allocate(ctx, off, size, mode)
}

// Fsync covers fdatasync too: both make every write of the file durable.
func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	if errno := f.LoopbackFile.Fsync(ctx, flags); errno != 0 {
		return errno
	}
	return f.fs.synced(f.fd)
}
