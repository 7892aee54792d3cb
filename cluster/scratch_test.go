package cluster

import (
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestScratchBig(t *testing.T) {
	const n = 300000
	pr, pw := io.Pipe()
	go func() {
		enc := json.NewEncoder(pw)
		for i := range n {
			_ = enc.Encode(storage.Pin{Cid: testCid(i), Name: "x", ReplicationFactorMin: -1, ReplicationFactorMax: -1, Metadata: map[string]string{"a": "b"}})
		}
		pw.Close()
	}()
	dir := t.TempDir()
	start := time.Now()
	got, err := ImportState(dir, newID(t), "127.0.0.1:1", pr)
	t.Logf("import %d %v in %v", got, err, time.Since(start))
}
