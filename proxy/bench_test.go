package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// BenchmarkForwarding measures the proxy against talking to the upstream
// directly, in the same process and on the same loopback, and reports the
// ratios: latency of a small call and throughput of a 4 MiB upload.
func BenchmarkForwarding(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if n > 0 {
			io.WriteString(w, `{"Bytes":1}`+"\n")
			return
		}
		io.WriteString(w, `{"Version":"0.42.0","Commit":"","Repo":"18","System":"amd64/linux","Golang":"go1.26"}`+"\n")
	}))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	p, err := New(Config{Upstream: u, Log: zerolog.Nop()}, notObserving{http.NotFoundHandler()})
	if err != nil {
		b.Fatal(err)
	}
	proxied := httptest.NewServer(p)
	defer proxied.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	upload := bytes.Repeat([]byte("x"), 4<<20)

	call := func(base string, body []byte) {
		resp, err := client.Post(base+"/api/v0/version", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	timeIt := func(n int, base string, body []byte) time.Duration {
		start := time.Now()
		for i := 0; i < n; i++ {
			call(base, body)
		}
		return time.Since(start)
	}
	// The ratios are of the totals over all b.N rounds, not of the last one:
	// on a shared machine a single round is noise.
	var directSmall, proxySmall, directBig, proxyBig time.Duration
	const small, big = 2000, 20
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The baseline and the proxy take turns going first.
		if i%2 == 0 {
			directSmall += timeIt(small, upstream.URL, nil)
			proxySmall += timeIt(small, proxied.URL, nil)
			directBig += timeIt(big, upstream.URL, upload)
			proxyBig += timeIt(big, proxied.URL, upload)
		} else {
			proxySmall += timeIt(small, proxied.URL, nil)
			directSmall += timeIt(small, upstream.URL, nil)
			proxyBig += timeIt(big, proxied.URL, upload)
			directBig += timeIt(big, upstream.URL, upload)
		}
	}
	calls := float64(small * b.N)
	b.ReportMetric(float64(directSmall.Microseconds())/calls, "µs/call-direct")
	b.ReportMetric(float64(proxySmall.Microseconds())/calls, "µs/call-proxied")
	b.ReportMetric(float64(proxySmall)/float64(directSmall), "latency-ratio")
	b.ReportMetric(float64(directBig)/float64(proxyBig), "upload-throughput-ratio")
}
