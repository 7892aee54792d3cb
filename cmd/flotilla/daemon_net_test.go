package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/slowclient"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// A client whose small body never arrives whole is told so in the error
// shape of the API it called: the admin API's {"code","message"}, which
// ipfs-cluster's clients and the flotilla CLI print, and the Pinning
// Service API's {"error":{"reason","details"}}.
func TestACutBodyIsAnsweredInItsAPIsErrorShape(t *testing.T) {
	for name, tc := range map[string]struct {
		tooSlow slowclient.TooSlow
		says    func(body []byte) (string, error)
	}{
		"admin API": {adminTooSlow, func(b []byte) (string, error) {
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			err := json.Unmarshal(b, &e)
			if e.Code != http.StatusRequestTimeout {
				err = fmt.Errorf("code %d", e.Code)
			}
			return e.Message, err
		}},
		"pinning service API": {pinsvcTooSlow, func(b []byte) (string, error) {
			var e struct {
				Error struct{ Reason, Details string } `json:"error"`
			}
			err := json.Unmarshal(b, &e)
			if e.Error.Reason == "" {
				err = fmt.Errorf("no reason in %s", b)
			}
			return e.Error.Details, err
		}},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(slowclient.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
			}), slowclient.Limits{BodyDeadline: 200 * time.Millisecond}, nil, tc.tooSlow))
			defer srv.Close()
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /pins HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
			res, body := testkit.ReadAnswer(t, c)
			msg, err := tc.says([]byte(body))
			if res.StatusCode != http.StatusRequestTimeout || err != nil || !strings.Contains(msg, "did not arrive within 200ms") {
				t.Fatalf("the cut client got %d %s (%v), want a 408 in the API's shape", res.StatusCode, body, err)
			}
		})
	}
}

// The header limit docs/security.md gives for the admin API and the
// Pinning Service API is the one their server applies: Go's server lets a
// head run 4 KiB past MaxHeaderBytes.
func TestTheHeaderLimitIsTheDocumentedOne(t *testing.T) {
	const documented = 20 << 10
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), fmt.Sprintf("stay under %d KiB", documented>>10)) {
		t.Fatalf("docs/security.md does not say headers stay under %d KiB", documented>>10)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = apiServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Start()
	defer srv.Close()
	for _, tc := range []struct {
		size int
		want int
	}{
		{documented - 512, http.StatusOK},
		{documented + 512, http.StatusRequestHeaderFieldsTooLarge},
	} {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		head := "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "
		fmt.Fprintf(c, "%s%s\r\n\r\n", head, strings.Repeat("a", tc.size-len(head)-4))
		res, _ := testkit.ReadAnswer(t, c)
		c.Close()
		if res.StatusCode != tc.want {
			t.Fatalf("a head of %d bytes got %d, want %d", tc.size, res.StatusCode, tc.want)
		}
	}
}
