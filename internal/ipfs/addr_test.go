package ipfs

import (
	"strings"
	"testing"
)

func TestParseAPIAddr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:5001", "http://127.0.0.1:5001"},
		{" http://127.0.0.1:5001/ ", "http://127.0.0.1:5001"},
		{"https://ipfs.example.org/kubo/", "https://ipfs.example.org/kubo"},
		{"http://[::1]:5001", "http://[::1]:5001"},
		{"/ip4/127.0.0.1/tcp/5001", "http://127.0.0.1:5001"},
		{"/ip6/::1/tcp/5001", "http://[::1]:5001"},
		{"/dns4/kubo/tcp/5001", "http://kubo:5001"},
		{"/dns/kubo.example.org/tcp/5001/http", "http://kubo.example.org:5001"},
		{"/dns6/kubo.example.org/tcp/443/https", "https://kubo.example.org:443"},
		{"/ip4/10.0.0.1/tcp/5001/tls/http", "https://10.0.0.1:5001"},
	} {
		got, err := ParseAPIAddr(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseAPIAddr(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseAPIAddrRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"localhost:5001",
		"ftp://127.0.0.1:5001",
		"http://",
		"http://user:secret@127.0.0.1:5001",
		"http://127.0.0.1:5001/api/v0",
		"http://127.0.0.1:5001/?x=1",
		"/ip4/127.0.0.1",
		"/ip4/127.0.0.1/udp/5001",
		"/unix/run/ipfs.sock",
		"/tcp/5001",
		"/ip4/999.0.0.1/tcp/5001",
	} {
		if got, err := ParseAPIAddr(in); err == nil {
			t.Errorf("ParseAPIAddr(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseAPIAddrHidesCredentials(t *testing.T) {
	_, err := ParseAPIAddr("http://user:secret@127.0.0.1:5001")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %v must not echo the password", err)
	}
}
