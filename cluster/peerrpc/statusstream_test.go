package peerrpc

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/types"
)

func readStream(client *Client, addr string) ([]StatusEntry, int, error) {
	var all []StatusEntry
	chunks := 0
	err := client.StatusStream(context.Background(), addr, 0, func(chunk []StatusEntry) error {
		chunks++
		all = append(all, chunk...)
		return nil
	})
	return all, chunks, err
}

// Every field of every status crosses the wire as it was, names included
// when they change from one entry to the next, in chunks of StatusChunk.
func TestStatusStreamCarriesEveryStatusInOrder(t *testing.T) {
	at := time.Date(2031, 2, 3, 4, 5, 6, 789, time.UTC)
	var want []streamedStatus
	for i := range 2*StatusChunk + 5 {
		st := types.PinStatus{PeerName: "a", IPFSPeerID: "12D3KooWipfs", Status: "pinned", Timestamp: at.Add(time.Duration(i) * time.Second)}
		switch i % 5 {
		case 1:
			st.Status, st.Error, st.AttemptCount = "pin_error", "context deadline exceeded", 3
		case 2:
			st.Status, st.Timestamp = "remote", time.Time{}
		case 3:
			st.PeerName, st.IPFSPeerID, st.PriorityPin = "renamed", "", true
		}
		want = append(want, streamedStatus{testCid(i), st})
	}
	client, addr := serve(t, &fakeLocal{streamed: want})
	got, chunks, err := readStream(client, addr)
	if err != nil {
		t.Fatal(err)
	}
	if chunks != 3 || len(got) != len(want) {
		t.Fatalf("%d entries in %d chunks, want %d in 3", len(got), chunks, len(want))
	}
	for i := range want {
		if got[i].Key != want[i].c.KeyString() || !reflect.DeepEqual(got[i].Status, want[i].st) {
			t.Fatalf("entry %d: %+v, want %s %+v", i, got[i], want[i].c, want[i].st)
		}
	}
	if got, _, err := readStream(client, addrOf(t, &fakeLocal{})); err != nil || len(got) != 0 {
		t.Fatalf("an empty peer streamed %v, %v", got, err)
	}
}

// A peer that fails midway says why, after the entries it had; a stream
// cut off is the peer not answering; a peer of an older build has no
// stream, which its caller must be able to tell.
func TestStatusStreamFailures(t *testing.T) {
	client, _ := serve(t, &fakeLocal{})
	one := []streamedStatus{{testCid(1), types.PinStatus{Status: "pinned"}}}
	got, _, err := readStream(client, addrOf(t, &fakeLocal{streamed: one, err: errors.New("status file gone")}))
	if err == nil || err.Error() != "status file gone" || len(got) != 1 {
		t.Fatalf("a peer failing midway: %d entries, %v", len(got), err)
	}

	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		enc := statusEncoder{w: bufio.NewWriter(w)}
		enc.add(testCid(1), types.PinStatus{Status: "pinned"})
		enc.flushBlock()
		enc.w.Flush()
	}))
	t.Cleanup(cut.Close)
	got, _, err = readStream(client, strings.TrimPrefix(cut.URL, "http://"))
	if !errors.Is(err, ErrUnreachable) || len(got) != 1 {
		t.Fatalf("a stream cut off: %d entries, %v; want the entry, then ErrUnreachable", len(got), err)
	}

	older := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(older.Close)
	if _, _, err := readStream(client, strings.TrimPrefix(older.URL, "http://")); !errors.Is(err, ErrNoSuchCall) {
		t.Fatalf("a peer without the stream: %v, want ErrNoSuchCall", err)
	}
}
