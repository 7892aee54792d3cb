package harness

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/api/rest"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// The admin API's status listing merges each peer's own statuses, which
// it streams in CID order over the cluster port: every pin gets every
// peer's own answer.
func TestStatusListingAcrossPeers(t *testing.T) {
	c := New(t, 3, Options{})
	const n = 300
	for i := 0; i < n; i++ {
		c.Provide(testCid(1000 + i))
	}
	for i := 0; i < n; i++ {
		if _, err := c.Peers[i%3].Node.Pin(timeout(t, 20*time.Second), storage.Pin{Cid: testCid(1000 + i), ReplicationFactorMin: 1, ReplicationFactorMax: 1}); err != nil {
			t.Fatal(err)
		}
	}
	api := httptest.NewServer(rest.New(c.Peers[1].Node, nil, zerolog.Nop()))
	defer api.Close()

	c.WaitFor("every pin pinned on its one peer and remote on the others", func() bool {
		resp, err := http.Get(api.URL + "/pins")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		count := 0
		for sc.Scan() {
			var info struct {
				PeerMap map[string]struct{ Status string } `json:"peer_map"`
			}
			if err := json.Unmarshal(sc.Bytes(), &info); err != nil || len(info.PeerMap) != 3 {
				return false
			}
			pinned, remote := 0, 0
			for _, st := range info.PeerMap {
				switch st.Status {
				case "pinned":
					pinned++
				case "remote":
					remote++
				}
			}
			if pinned != 1 || remote != 2 {
				return false
			}
			count++
		}
		return count == n
	})
}
