package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// dialIn dials from inside network namespace netns: the socket is made by
// a thread that has entered it, and stays there whoever uses it next.
func dialIn(netns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	path := filepath.Join("/run/netns", netns)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type dialed struct {
			conn net.Conn
			err  error
		}
		done := make(chan dialed, 1)
		go func() {
			conn, err := dialFrom(ctx, path, network, addr)
			done <- dialed{conn, err}
		}()
		d := <-done
		return d.conn, d.err
	}
}

// dialFrom dials with this goroutine's thread in the namespace at nsPath,
// then puts the thread back where it was. A thread that cannot go back
// stays locked, so that it ends with the goroutine, or (the main thread)
// runs nothing else.
func dialFrom(ctx context.Context, nsPath, network, addr string) (net.Conn, error) {
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer home.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("setns %s: %w", nsPath, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
		runtime.UnlockOSThread()
	}
	return conn, err
}
