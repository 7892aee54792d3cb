package e2e

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	rpc "github.com/ipfs/kubo/client/rpc"
	"github.com/ipfs/kubo/core/coreiface/options"
)

// BenchmarkProxyAgainstKubo runs the same work against a real Kubo directly
// and through a flotilla peer in front of it, in one process, and reports
// the ratios: a forwarded call, a forwarded upload (an add of 4 MiB that
// does not pin, which the proxy only streams through), and an add that pins
// (which through the proxy is a Raft commit plus the pin on Kubo). The
// forwarded call is also timed through a bare TCP relay process in front
// of the same Kubo: what any proxy of its own process costs at least.
func BenchmarkProxyAgainstKubo(b *testing.B) {
	flotillaBin, ipfsBin := binaries(b)
	k := startKubo(b, ipfsBin)
	p := newPeer(b, flotillaBin, k)
	// At debug level every request logs a line, which this process then
	// parses: the proxy's cost is measured at the default level.
	if os.Getenv("FLOTILLA_BENCH_DEBUG_LOG") == "" {
		p.logLevel = "info"
	}
	p.start()
	relay := startBareRelay(b, strings.TrimPrefix(k.url, "http://"))
	client := &http.Client{}
	direct, err := rpc.NewURLApiWithClient(k.url, client)
	if err != nil {
		b.Fatal(err)
	}
	proxied, err := rpc.NewURLApiWithClient(p.proxyURL(), client)
	if err != nil {
		b.Fatal(err)
	}
	const calls, uploads, adds = 300, 10, 30
	version := func(base string, n int) time.Duration {
		start := time.Now()
		for i := 0; i < n; i++ {
			resp, err := client.Post(base+"/api/v0/version", "", nil)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return time.Since(start)
	}
	add := func(api *rpc.HttpApi, n, size int, pin bool) time.Duration {
		var took time.Duration
		for i := 0; i < n; i++ {
			data := make([]byte, size)
			rand.Read(data)
			start := time.Now()
			if _, err := api.Unixfs().Add(b.Context(), files.NewReaderFile(bytes.NewReader(data)), options.Unixfs.Pin(pin, "")); err != nil {
				b.Fatal(err)
			}
			took += time.Since(start)
		}
		return took
	}
	pinned := func(api *rpc.HttpApi) time.Duration { return add(api, adds, 256<<10, true) }
	upload := func(api *rpc.HttpApi) time.Duration { return add(api, uploads, 4<<20, false) }
	// The ratios are of the totals over all b.N rounds, not of the last one:
	// on a shared machine a single round is noise.
	var dv, pv, rv, du, pu, da, pa time.Duration
	// Each endpoint answers some calls first: the first round would
	// otherwise pay for opening connections and for Kubo's cold start on
	// whichever side went first (make bench runs one round).
	sides := []struct {
		base string
		took *time.Duration
	}{{k.url, &dv}, {p.proxyURL(), &pv}, {relay, &rv}}
	for _, c := range sides {
		version(c.base, calls/3)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The sides take turns going first, so that a warm cache or a busy
		// moment does not always favour the same side.
		for j := range sides {
			c := sides[(i+j)%len(sides)]
			*c.took += version(c.base, calls)
		}
		if i%2 == 0 {
			du += upload(direct)
			pu += upload(proxied)
			da += pinned(direct)
			pa += pinned(proxied)
		} else {
			pu += upload(proxied)
			du += upload(direct)
			pa += pinned(proxied)
			da += pinned(direct)
		}
	}
	rounds := float64(b.N)
	b.ReportMetric(float64(pv)/float64(dv), "forwarded-call-ratio")
	b.ReportMetric(float64(dv.Microseconds())/(calls*rounds), "µs/call-direct")
	b.ReportMetric(float64(pv.Microseconds())/(calls*rounds), "µs/call-proxied")
	b.ReportMetric(float64(rv)/float64(dv), "relayed-call-ratio")
	b.ReportMetric(float64(rv.Microseconds())/(calls*rounds), "µs/call-relayed")
	b.ReportMetric(float64(du)/float64(pu), "upload-throughput-ratio")
	b.ReportMetric(float64(pa)/float64(da), "pinned-add-ratio")
	b.ReportMetric(float64(pa.Milliseconds())/(adds*rounds), "ms/add-proxied")
	b.ReportMetric(float64(da.Milliseconds())/(adds*rounds), "ms/add-direct")
}
