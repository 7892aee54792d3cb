package main

import (
	"slices"
	"strings"
	"testing"
)

func TestClusterAddrsTakeHostPortAndIPFSClusterMultiaddrs(t *testing.T) {
	got, err := clusterAddrs(" 10.0.0.1:9096, /ip4/127.0.0.1/tcp/9096/p2p/12D3KooWT32gentW97zT6jTZG4NBsv7VhBLtaHgJKkeMExEgVY9K,/dns4/peer.example/tcp/9096,[::1]:9096,/ip6/::1/tcp/9097")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.1:9096", "127.0.0.1:9096", "peer.example:9096", "[::1]:9096", "[::1]:9097"}
	if !slices.Equal(got, want) {
		t.Fatalf("clusterAddrs = %q, want %q", got, want)
	}
}

func TestClusterAddrsRefuseWhatIsNoClusterPort(t *testing.T) {
	for _, bad := range []string{
		"peer.example",              // no port
		":9096",                     // no host
		"peer.example:0",            // no such port
		"peer.example:http",         // a service name, not a port
		"/ip4/10.0.0.1",             // no /tcp
		"/ip4/10.0.0.1/udp/9096",    // not TCP
		"/ip4/10.0.0.1/tcp/9096/ws", // a transport Flotilla does not speak
		"http://10.0.0.1:9096",      // a URL
	} {
		if got, err := clusterAddrs(bad); err == nil {
			t.Errorf("clusterAddrs(%q) = %q, want an error", bad, got)
		}
	}
}

// A bad --bootstrap is a usage error at once, naming the flag, not a join
// that fails a minute later.
func TestDaemonRefusesABadBootstrapAtOnce(t *testing.T) {
	r := runCLI(t, nil, nil, "daemon", "--bootstrap", "/ip4/127.0.0.1/udp/9096")
	if r.code != 2 || !strings.Contains(r.stderr, "--bootstrap") || !strings.Contains(r.stderr, "/udp") {
		t.Fatalf("daemon --bootstrap /ip4/127.0.0.1/udp/9096: %d %q", r.code, r.stderr)
	}
}
