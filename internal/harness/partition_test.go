package harness

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestPartitionCutsOnlyTheLinksBetweenGroups checks the network primitive
// the nemesis relies on: across groups nothing connects and open
// connections close; inside a group and for peers in no group, everything
// still does; HealLinks restores the links.
func TestPartitionCutsOnlyTheLinksBetweenGroups(t *testing.T) {
	n := NewNetwork()
	var addrs []string
	for range 4 {
		ln, err := n.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { io.Copy(c, c); c.Close() }() // echo
			}
		}()
		addrs = append(addrs, ln.Addr().String())
	}
	a, b, c, free := addrs[0], addrs[1], addrs[2], addrs[3]
	dial := func(from, to string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return n.Dialer(from).DialContext(ctx, "tcp", to)
	}
	echoes := func(conn net.Conn) bool {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte("x")); err != nil {
			return false
		}
		buf := make([]byte, 1)
		_, err := io.ReadFull(conn, buf)
		return err == nil
	}

	across, err := dial(a, c)
	if err != nil {
		t.Fatal(err)
	}
	inside, err := dial(a, b)
	if err != nil {
		t.Fatal(err)
	}
	n.Partition([]string{a, b}, []string{c})

	if _, err := dial(a, c); !errors.Is(err, errCut) {
		t.Fatalf("dial a->c across the partition: %v, want errCut", err)
	}
	if _, err := dial(c, b); !errors.Is(err, errCut) {
		t.Fatalf("dial c->b across the partition: %v, want errCut", err)
	}
	if echoes(across) {
		t.Fatal("a connection across the partition still carries data")
	}
	if !echoes(inside) {
		t.Fatal("a connection inside a group was closed")
	}
	for _, to := range []string{a, b, c} {
		conn, err := dial(free, to)
		if err != nil {
			t.Fatalf("a peer in no group dialing %s: %v", to, err)
		}
		conn.Close()
	}

	n.HealLinks()
	conn, err := dial(c, a)
	if err != nil {
		t.Fatalf("dial after HealLinks: %v", err)
	}
	if !echoes(conn) {
		t.Fatal("a healed link does not carry data")
	}
	conn.Close()
	inside.Close()
}
