package slowclient

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// serve runs h behind Handler with limits l, every body streamed when
// streams, and returns the server's address.
func serve(t *testing.T, h http.HandlerFunc, l Limits, streams bool) string {
	t.Helper()
	srv := httptest.NewServer(Handler(h, l, func(*http.Request) bool { return streams }, tooSlow))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// tooSlow answers a cut request as the daemon's APIs do, in their shape.
func tooSlow(w http.ResponseWriter, _ *http.Request, msg string) {
	w.WriteHeader(http.StatusRequestTimeout)
	fmt.Fprint(w, msg)
}

// dial sends a POST's head announcing a body of size bytes, and the
// first bytes of it.
func dial(t *testing.T, addr string, size int, first string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /api/v0/add HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", addr, size, first)
	return c
}

// readErr is the handler that reads its body and reports how that ended.
func readErr(got chan<- error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
	}
}

func waitFor(t *testing.T, got <-chan error) error {
	t.Helper()
	select {
	case err := <-got:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the handler was still waiting after 10 s")
		return nil
	}
}

func TestAStalledUploadIsCut(t *testing.T) {
	got := make(chan error, 1)
	addr := serve(t, readErr(got), Limits{BodyDeadline: time.Hour, Idle: 200 * time.Millisecond, Send: time.Hour}, true)
	dial(t, addr, 1000, "ten bytes.")
	if err := waitFor(t, got); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the read of a stalled body ended with %v, want a timeout", err)
	}
}

func TestASlowButLiveUploadGoesOn(t *testing.T) {
	got := make(chan error, 1)
	idle := 300 * time.Millisecond
	addr := serve(t, readErr(got), Limits{BodyDeadline: time.Hour, Idle: idle, Send: time.Hour}, true)
	const n = 12
	c := dial(t, addr, n, "")
	// A byte every third of Idle: the whole body takes four times Idle.
	tick := time.NewTicker(idle / 3)
	defer tick.Stop()
	for range n {
		<-tick.C
		if _, err := c.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitFor(t, got); err != nil {
		t.Fatalf("a body whose bytes kept coming was cut: %v", err)
	}
}

// trickle writes a byte to c every gap until the connection fails.
func trickle(c net.Conn, gap time.Duration) {
	tick := time.NewTicker(gap)
	defer tick.Stop()
	for range tick.C {
		if _, err := c.Write([]byte{'x'}); err != nil {
			return
		}
	}
}

// A byte every tenth of Idle keeps every read within Idle, yet holds the
// connection for as long as it lasts: MinRate cuts it once the first
// Idle's credit is spent.
func TestATricklingUploadIsCut(t *testing.T) {
	got := make(chan error, 1)
	idle := 300 * time.Millisecond
	addr := serve(t, readErr(got), Limits{BodyDeadline: time.Hour, Idle: idle, MinRate: 100, Send: time.Hour}, true)
	start := time.Now()
	c := dial(t, addr, 1000, "")
	go trickle(c, idle/10)
	if err := waitFor(t, got); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a body trickled at a third of MinRate ended with %v, want a timeout", err)
	}
	if took := time.Since(start); took < idle {
		t.Fatalf("the trickled body was cut after %v, before its first Idle (%v) of credit", took, idle)
	}
	// The client, still there, is told why rather than given an empty 200.
	wantAnswer(t, c, http.StatusRequestTimeout, "under 100 bytes a second")
}

// wantAnswer reads the answer on c and fails unless it has the status and
// its body says says, and returns the body.
func wantAnswer(t *testing.T, c net.Conn, status int, says string) string {
	t.Helper()
	res, b := testkit.ReadAnswer(t, c)
	if res.StatusCode != status || !strings.Contains(b, says) {
		t.Fatalf("the cut client got %d %q, want %d saying %q", res.StatusCode, b, status, says)
	}
	return b
}

// A handler that answers the failed read itself keeps its answer.
func TestAHandlersOwnAnswerToACutBodyStands(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "the handler's own words", http.StatusBadRequest)
		}
	}, Limits{BodyDeadline: time.Hour, Idle: 200 * time.Millisecond, Send: time.Hour}, true)
	if b := wantAnswer(t, dial(t, addr, 1000, "ten bytes."), http.StatusBadRequest, "the handler's own words"); strings.Contains(b, "was cut") {
		t.Fatalf("the handler's answer had the cut's appended: %q", b)
	}
}

// Bursts with pauses shorter than Idle, at five times MinRate on average, go on:
// the rate is an average, not a floor under each read.
func TestAnUploadThatKeepsUpWithMinRateGoesOn(t *testing.T) {
	got := make(chan error, 1)
	idle := 600 * time.Millisecond
	addr := serve(t, readErr(got), Limits{BodyDeadline: time.Hour, Idle: idle, MinRate: 100, Send: time.Hour}, true)
	const bursts, size = 10, 100
	c := dial(t, addr, bursts*size, "")
	burst := []byte(strings.Repeat("x", size))
	for range bursts {
		time.Sleep(idle / 3) // the pause a slow producer makes
		if _, err := c.Write(burst); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitFor(t, got); err != nil {
		t.Fatalf("a body that kept up with MinRate was cut: %v", err)
	}
}

// The time a handler spends between reads (on a slow upstream, say) is not
// the client's: a body that waited in the socket meanwhile is not behind.
func TestAHandlerThatPausesBetweenReadsDoesNotCountAgainstTheClient(t *testing.T) {
	got := make(chan error, 1)
	idle := 300 * time.Millisecond
	// A MinRate so high that the pause, were it the client's, would put
	// the body far behind.
	limits := Limits{BodyDeadline: time.Hour, Idle: idle, MinRate: 64 << 10, Send: time.Hour}
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadFull(r.Body, make([]byte, 10)); err != nil {
			got <- err
			return
		}
		time.Sleep(3 * idle) // an upstream that takes its time
		_, err := io.Copy(io.Discard, r.Body)
		got <- err
	}, limits, true)
	const size = 4 << 20 // more than the socket buffers hold
	c := dial(t, addr, size, "")
	go c.Write(make([]byte, size))
	if err := waitFor(t, got); err != nil {
		t.Fatalf("a body that waited on the handler was cut: %v", err)
	}
}

func TestABodyThatIsNotStreamedMustArriveWhole(t *testing.T) {
	got := make(chan error, 1)
	addr := serve(t, readErr(got), Limits{BodyDeadline: 300 * time.Millisecond, Idle: time.Hour, Send: time.Hour}, false)
	// Trickling: every byte comes well within any idle limit.
	c := dial(t, addr, 1000, "")
	go trickle(c, 20*time.Millisecond)
	if err := waitFor(t, got); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a trickled body ended with %v, want a timeout at the body's deadline", err)
	}
	wantAnswer(t, c, http.StatusRequestTimeout, "did not arrive within 300ms")
}

func TestAClientThatStopsReadingIsCut(t *testing.T) {
	got := make(chan error, 1)
	chunk := []byte(strings.Repeat("x", 64<<10))
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		for {
			if _, err := w.Write(chunk); err != nil {
				got <- err
				return
			}
		}
	}, Limits{BodyDeadline: time.Hour, Idle: time.Hour, Send: 200 * time.Millisecond}, true)
	dial(t, addr, 0, "") // and never reads
	if err := waitFor(t, got); err == nil {
		t.Fatal("the writes to a client that reads nothing never failed")
	}
}

func TestALongWaitBeforeTheAnswerIsNotCut(t *testing.T) {
	send := 200 * time.Millisecond
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		// A pin of a large DAG: nothing to send until it is done.
		time.Sleep(3 * send)
		w.Write([]byte("pinned"))
	}, Limits{BodyDeadline: time.Hour, Idle: send, Send: send}, true)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	// Twice on one connection: the first answer's deadline must not
	// cut the second.
	for i := range 2 {
		fmt.Fprintf(c, "POST /api/v0/pin/add HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n", addr)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || string(b) != "pinned" {
			t.Fatalf("answer %d: %q, %v", i+1, b, err)
		}
	}
}

// A pager stops reading while the user reads the page: longer than a body
// may stall, well within Send.
func TestAReaderThatPausesIsNotCut(t *testing.T) {
	const size = 8 << 20
	idle := 100 * time.Millisecond
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", size)))
	}, Limits{BodyDeadline: time.Hour, Idle: idle, Send: time.Hour}, true)
	c := dial(t, addr, 0, "")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if _, err := io.CopyN(io.Discard, res.Body, 64<<10); err != nil {
		t.Fatal(err)
	}
	// Meanwhile the server's writes wait on a full socket.
	time.Sleep(10 * idle)
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil || n != size-64<<10 {
		t.Fatalf("after a pause the rest of the answer was %d bytes, %v; want %d", n, err, size-64<<10)
	}
}

func TestAZeroLimitIsNoLimit(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}, Limits{}, false)
	res, err := http.Post("http://"+addr+"/pins", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if b, err := io.ReadAll(res.Body); err != nil || string(b) != "body" {
		t.Fatalf("with no limits set the answer was %q, %v", b, err)
	}
}
