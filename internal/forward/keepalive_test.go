package forward

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// kuboEarlyAnswer answers after reading only the start of the upload, as
// Kubo does when a command fails on its first bytes (a dag put of a bad
// node) or streams its answer while the upload goes on. Like Kubo's
// go-ipfs-cmds, it says "Connection: close" when it answers before it has
// seen the end of the body, since it cannot keep such a connection.
func kuboEarlyAnswer(w http.ResponseWriter, r *http.Request) {
	buf := make([]byte, 1<<10)
	if _, err := io.ReadFull(r.Body, buf); err == nil {
		if n, _ := r.Body.Read(buf[:1]); n > 0 {
			w.Header().Set("Connection", "close")
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, `{"Message":"invalid node","Code":0,"Type":"error"}`+"\n")
}

// kuboReadsAll reads the whole upload before it answers, as a dag put that
// succeeds does.
func kuboReadsAll(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	fmt.Fprintf(w, `{"Cid":{"/":"bafy"},"Bytes":%d}`+"\n", n)
}

// uploadsOnOneConnection sends rounds uploads to base, back to back, each
// on the connection of the one before unless that answer said
// "Connection: close", writing the body while it reads the answer as
// curl and browsers do. It fails the test if a connection that was not
// announced as closing breaks: the EPIPE or ECONNRESET a client sees when
// a server drops a keep-alive connection without saying so.
func uploadsOnOneConnection(t *testing.T, base string, rounds int) (reused int) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for i := range rounds {
		// Sizes on both sides of the Go server's 256 KiB drain limit, and
		// one larger than what loopback buffers hold.
		size := []int{2 << 10, 100 << 10, 300 << 10, 1 << 20, 16 << 20}[i%5]
		if conn == nil {
			if conn, err = net.Dial("tcp", u.Host); err != nil {
				t.Fatal(err)
			}
			br = bufio.NewReader(conn)
		} else {
			reused++
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		wrote := make(chan error, 1)
		go func(c net.Conn) {
			head := fmt.Sprintf("POST /api/v0/dag/put HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", u.Host, size)
			_, err := io.WriteString(c, head+strings.Repeat("x", size))
			wrote <- err
		}(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("upload %d (%d bytes, connection reused: %v): no answer: %v", i, size, reused > 0, err)
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("upload %d: reading the answer: %v", i, err)
		}
		if res.Close {
			conn.Close()
			<-wrote
			conn = nil
			continue
		}
		if err := <-wrote; err != nil {
			t.Fatalf("upload %d (%d bytes): answered %d with keep-alive, then the upload failed: %v", i, size, res.StatusCode, err)
		}
	}
	return reused
}

// TestBackToBackUploadsKeepConnectionsHealthy: through the forwarder, a
// client sending uploads back to back over one keep-alive connection never
// meets a connection that breaks without "Connection: close", whether the
// upstream reads each upload whole or answers before its end (Issue 11:
// an EPIPE on a dag put through the proxy that never happens against
// Kubo). Each case is checked against the upstream directly too.
func TestBackToBackUploadsKeepConnectionsHealthy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		upstream http.HandlerFunc
	}{
		{"answers before the end", kuboEarlyAnswer},
		{"reads it all", kuboReadsAll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := upstreamServer(t, tc.upstream)
			direct := uploadsOnOneConnection(t, up.String(), 25)
			forwarded := uploadsOnOneConnection(t, serve(t, up, &recordError{}), 25)
			t.Logf("connections reused: %d directly, %d forwarded", direct, forwarded)
			if forwarded < direct {
				t.Errorf("the forwarder reused %d connections, the upstream alone %d", forwarded, direct)
			}
		})
	}
}
