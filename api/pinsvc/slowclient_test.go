package pinsvc

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/slowclient"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// A Pin body that the listener's deadline cuts is answered by the
// listener, as the daemon wires it: 408 in the spec's Failure shape, saying
// which limit cut it. The API's own answer would be a 400 quoting the
// socket's addresses from the read's error.
func TestAPinBodyCutByTheDeadlineIsAnsweredWith408(t *testing.T) {
	tooSlow := func(w http.ResponseWriter, _ *http.Request, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestTimeout)
		w.Write(ErrorJSON("REQUEST_TIMEOUT", msg))
	}
	f := newFake()
	srv := httptest.NewServer(slowclient.Handler(New(f, Config{}), slowclient.Limits{BodyDeadline: 200 * time.Millisecond}, nil, tooSlow))
	t.Cleanup(srv.Close)
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /pins HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"cid\":")
	res, body := testkit.ReadAnswer(t, c)
	var failure struct {
		Error struct{ Reason, Details string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &failure); err != nil || res.StatusCode != http.StatusRequestTimeout ||
		failure.Error.Reason != "REQUEST_TIMEOUT" || !strings.Contains(failure.Error.Details, "did not arrive within 200ms") {
		t.Fatalf("the cut client got %d %s (%v), want the listener's 408", res.StatusCode, body, err)
	}
	if strings.Contains(body, "127.0.0.1") {
		t.Fatalf("the answer shows the socket's addresses: %s", body)
	}
	if ops := f.Commits(); len(ops) != 0 {
		t.Fatalf("a cut request committed %v", ops)
	}
}
