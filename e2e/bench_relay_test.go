package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// relayUpstreamEnv makes TestBareRelayProcess a bare TCP relay to the
// address it names.
const relayUpstreamEnv = "FLOTILLA_BENCH_RELAY_UPSTREAM"

// TestBareRelayProcess is not a test: re-executed by startBareRelay, this
// test binary becomes a process that copies bytes between each accepted
// connection and a connection of its own to the upstream, and nothing
// else. Its cost over calling the upstream directly is the floor of any
// proxy that runs as a process of its own: two more processes to wake per
// call, two more socket copies. It prints its address, then serves until
// its stdin closes.
func TestBareRelayProcess(t *testing.T) {
	upstream := os.Getenv(relayUpstreamEnv)
	if upstream == "" {
		t.Skip("only as the relay process of BenchmarkProxyAgainstKubo")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				return
			}
			defer u.Close()
			go func() {
				io.Copy(u, c)
				u.(*net.TCPConn).CloseWrite()
			}()
			io.Copy(c, u)
		}()
	}
}

// startBareRelay runs TestBareRelayProcess in front of upstream (host:port)
// and returns its base URL; it stops with the benchmark.
func startBareRelay(b *testing.B, upstream string) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^TestBareRelayProcess$", "-test.count", "1")
	cmd.Env = append(os.Environ(), relayUpstreamEnv+"="+upstream)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("the relay process gave no address: %v", err)
	}
	go io.Copy(io.Discard, stdout)
	return "http://" + strings.TrimSpace(addr)
}
