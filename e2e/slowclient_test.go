package e2e

import (
	"io"
	"strings"
	"testing"
	"time"
)

// trickle is a body that yields a byte every gap, and ends after total:
// an upload from a producer far slower than any link.
type trickle struct {
	gap  time.Duration
	end  time.Time
	sent int
}

func (r *trickle) Read(p []byte) (int, error) {
	if time.Now().After(r.end) {
		return 0, io.EOF
	}
	time.Sleep(r.gap)
	p[0] = 'x'
	r.sent++
	return 1, nil
}

// An upload trickled through the proxy of the real daemon, in front of real
// Kubo, with the limits set in the configuration (http.*), is cut and the
// ipfs CLI reports why; nothing is pinned, and the next add goes through.
func TestATrickledUploadIsCutAndTheCLISaysWhy(t *testing.T) {
	k, p := onePeer(t, "FLOTILLA_HTTP_BODY_IDLE_TIMEOUT=1s", "FLOTILLA_HTTP_BODY_MIN_RATE=100")
	before := len(k.pinned())
	// 20 bytes a second, each byte well within the idle limit; without the
	// rate it would run until the body ends, 30 s later, and be added.
	body := &trickle{gap: 50 * time.Millisecond, end: time.Now().Add(30 * time.Second)}
	out, err := k.try(body, "--api", p.proxyAPI(), "add", "-q")
	if err == nil || !strings.Contains(out, "too slowly") {
		t.Fatalf("a trickled add answered %q (%v) after %d bytes, want the CLI's error saying the body came too slowly", out, err, body.sent)
	}
	if got := len(k.pinned()); got != before {
		t.Fatalf("Kubo holds %d pins after the cut upload, want %d", got, before)
	}
	res, err := p.client().Get("http://" + p.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := `flotilla_http_bodies_cut_total{listener="proxy"} 1`; !strings.Contains(string(metrics), want) {
		t.Fatalf("/metrics lacks %s", want)
	}
	if out, err := k.try(strings.NewReader("a whole upload"), "--api", p.proxyAPI(), "add", "-q"); err != nil || len(k.pinned()) != before+1 {
		t.Fatalf("the next add answered %q (%v), and Kubo holds %d pins, want %d", out, err, len(k.pinned()), before+1)
	}
}
