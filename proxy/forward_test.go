package proxy

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"
)

// serveProxy runs a proxy to upstream on a real listener; intercepted
// builds the intercept handler for the upstream's URL (nil: a 404 stub).
func serveProxy(t *testing.T, upstream http.Handler, intercepted func(upstreamURL string) Intercepted) string {
	t.Helper()
	return serveProxyWith(t, Config{Log: zerolog.Nop()}, upstream, intercepted)
}

// serveProxyWith is serveProxy with cfg, whose Upstream it sets.
func serveProxyWith(t *testing.T, cfg Config, upstream http.Handler, intercepted func(upstreamURL string) Intercepted) string {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var ih Intercepted = notObserving{http.NotFoundHandler()}
	if intercepted != nil {
		ih = intercepted(up.URL)
	}
	cfg.Upstream = u
	p, err := New(cfg, ih)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + l.Addr().String()
}

// earlyAnsweringUpstream behaves like Kubo's add with progress: it answers
// before it has read the upload, then reads it all and reports its hash as
// a raw CIDv1. Like go-ipfs-cmds it says Connection: close when it writes
// early.
func earlyAnsweringUpstream(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Chunked-Output", "1")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"Name":"","Bytes":0}`+"\n")
		w.(http.Flusher).Flush()
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			t.Errorf("upstream read after %d bytes: %v", n, err)
		}
		io.WriteString(w, `{"Name":"upload","Hash":"`+sha256Cid(h.Sum(nil)).String()+`"}`+"\n")
	})
}

func sha256Cid(digest []byte) cid.Cid {
	m, err := mh.Encode(digest, mh.SHA2_256)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.Raw, m)
}

// TestUploadSurvivesEarlyAnswer is the §6.1 corruption case: a 10 MiB
// chunked upload on a keep-alive connection, answered by the upstream
// before it reads the body. Without full duplex the proxy's server discards
// up to 256 KiB of the body while the proxy streams it upstream.
func TestUploadSurvivesEarlyAnswer(t *testing.T) {
	m := newMemCluster()
	base := serveProxy(t, earlyAnsweringUpstream(t), func(up string) Intercepted { return wiredHandlers(t, up, m) })
	data := make([]byte, 10<<20)
	rand.Read(data)
	sum := sha256.Sum256(data)
	want := sha256Cid(sum[:])

	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	// A plain forward, and add through the intercept (which pins the CID).
	for _, path := range []string{"/api/v0/files/write?arg=/f&create=true", "/api/v0/add?progress=true"} {
		for round := range 2 {
			// A body of unknown length makes the client send it chunked.
			pr, pw := io.Pipe()
			go func() {
				for off := 0; off < len(data); off += 64 << 10 {
					if _, err := pw.Write(data[off : off+64<<10]); err != nil {
						return
					}
				}
				pw.Close()
			}()
			req, _ := http.NewRequest(http.MethodPost, base+path, pr)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(res.Body)
			var last string
			for sc.Scan() {
				last = sc.Text()
			}
			res.Body.Close()
			if last != `{"Name":"upload","Hash":"`+want.String()+`"}` {
				t.Fatalf("%s round %d: upstream received other bytes: %s", path, round, last)
			}
		}
	}
	if _, ok := m.Stored(want); !ok {
		t.Error("add did not pin the uploaded CID in the cluster")
	}
	// The client's connection survived for reuse: keep-alive worked.
	reused := false
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v0/files/write", strings.NewReader("small"))
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if !reused {
		t.Error("keep-alive connection was not reused")
	}
}

// TestTrailerSurvivesForwarding: a failure reported after a partial body
// must reach the client, or a failed cat looks like a short file.
func TestTrailerSurvivesForwarding(t *testing.T) {
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Stream-Output", "1")
		w.Header().Set("Trailer", "X-Stream-Error")
		w.WriteHeader(http.StatusOK)
		w.Write(make([]byte, 512<<10))
		w.Header().Set("X-Stream-Error", "failed to fetch all nodes")
	})
	base := serveProxy(t, upstream, nil)
	res, err := http.Post(base+"/api/v0/cat?arg=QmX", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || n != 512<<10 {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	if got := res.Trailer.Get("X-Stream-Error"); got != "failed to fetch all nodes" {
		t.Errorf("trailer %q", got)
	}
}

// TestDownloadByteExact: a large streamed answer arrives unchanged and
// uncompressed although the client accepts gzip.
func TestDownloadByteExact(t *testing.T) {
	data := make([]byte, 3<<20)
	rand.Read(data)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for off := 0; off < len(data); off += 100 << 10 {
			w.Write(data[off:min(off+100<<10, len(data))])
			w.(http.Flusher).Flush()
		}
	})
	base := serveProxy(t, upstream, nil)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v0/cat", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || string(got) != string(data) || res.Header.Get("Content-Encoding") != "" {
		t.Errorf("download altered: %d bytes, err %v, encoding %q", len(got), err, res.Header.Get("Content-Encoding"))
	}
}
