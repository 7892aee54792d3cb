package offline_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/cluster/offline"
	"github.com/flotilla-ipfs/flotilla/cluster/offline/offlinetest"
	"github.com/flotilla-ipfs/flotilla/internal/folderlock"
	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestExportImportRoundTripsEveryField(t *testing.T) {
	want := offlinetest.FullPins(5)
	src := t.TempDir()
	if n, err := offline.Import(src, offlinetest.PeerID(t), "127.0.0.1:1", offlinetest.NDJSON(t, want)); err != nil || n != len(want) {
		t.Fatalf("import: %d %v", n, err)
	}
	var first bytes.Buffer
	if _, err := offline.Export(src, &first); err != nil {
		t.Fatal(err)
	}
	offlinetest.SamePins(t, offlinetest.Export(t, src), want)

	// And again through a second peer: the export is the import's input.
	dst := t.TempDir()
	if _, err := offline.Import(dst, offlinetest.PeerID(t), "127.0.0.1:2", bytes.NewReader(first.Bytes())); err != nil {
		t.Fatal(err)
	}
	var second bytes.Buffer
	if _, err := offline.Export(dst, &second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatalf("export differs after a round trip:\n%s\n%s", first.String(), second.String())
	}
}

func TestImportAcceptsIPFSClusterExport(t *testing.T) {
	// A line of ipfs-cluster's `state export`: no user allocations, mode
	// given as max_depth only, second-precision times.
	line := `{"replication_factor_min":-1,"replication_factor_max":-1,"name":"foo","shard_size":0,` +
		`"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":{"k1":"v1"},"pin_update":null,` +
		`"origins":[],"cid":"QmP63DkAFEnDYNjDYBpyNDfttu1WQRKYfS4rmTJ9hsBzFx","type":"pin","allocations":[],` +
		`"max_depth":0,"reference":null,"timestamp":"2026-11-25T04:38:10Z"}` + "\n"
	dir := t.TempDir()
	if _, err := offline.Import(dir, offlinetest.PeerID(t), "127.0.0.1:1", strings.NewReader(line)); err != nil {
		t.Fatal(err)
	}
	got := offlinetest.Export(t, dir)
	if len(got) != 1 || got[0].Mode != storage.Direct || got[0].Name != "foo" || !got[0].Everywhere() ||
		got[0].Metadata["k1"] != "v1" || !got[0].Timestamp.Equal(time.Date(2026, 11, 25, 4, 38, 10, 0, time.UTC)) {
		t.Fatalf("imported %+v", got)
	}
}

func TestImportRefusesBadPinsAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	keep := offlinetest.FullPins(2)
	if _, err := offline.Import(dir, offlinetest.PeerID(t), "127.0.0.1:1", offlinetest.NDJSON(t, keep)); err != nil {
		t.Fatal(err)
	}
	good := offlinetest.NDJSON(t, offlinetest.FullPins(1)).String()
	for name, tc := range map[string]struct{ input, want string }{
		"bad cid":     {`{"cid":"nope","mode":"recursive","replication_factor_min":-1,"replication_factor_max":-1}`, "line 2: invalid cid"},
		"bad mode":    {strings.Replace(good, `"mode":"recursive"`, `"mode":"sideways"`, 1), "line 2: invalid pin mode"},
		"shard pin":   {strings.Replace(good, `"type":"pin"`, `"type":"shard-pin"`, 1), "not supported"},
		"bad factors": {strings.Replace(good, `"replication_factor_min":1`, `"replication_factor_min":0`, 1), "replication factors"},
		"not json":    {"{", "line 3: invalid character"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := offline.Import(dir, offlinetest.PeerID(t), "127.0.0.1:1", strings.NewReader(good+tc.input+"\n"+good))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to say %q", err, tc.want)
			}
			offlinetest.SamePins(t, offlinetest.Export(t, dir), keep)
			if left, _ := filepath.Glob(filepath.Join(dir, offline.TempPrefix+"*")); len(left) > 0 {
				t.Fatalf("temp files left behind: %v", left)
			}
		})
	}
}

// An input without pins (an empty file, a wrong redirect) would empty the
// pinset, and the next start would unpin everything: it takes asking for.
func TestImportRefusesAnInputWithoutPins(t *testing.T) {
	dir := t.TempDir()
	keep := offlinetest.FullPins(2)
	if _, err := offline.Import(dir, offlinetest.PeerID(t), "127.0.0.1:1", offlinetest.NDJSON(t, keep)); err != nil {
		t.Fatal(err)
	}
	for _, input := range []string{"", "\n \n\t\n"} {
		if n, err := offline.Import(dir, offlinetest.PeerID(t), "127.0.0.1:1", strings.NewReader(input)); !errors.Is(err, offline.ErrNoPins) {
			t.Fatalf("import of %q: %d, %v, want ErrNoPins", input, n, err)
		}
		offlinetest.SamePins(t, offlinetest.Export(t, dir), keep)
	}
	if n, err := offline.ImportAllowingEmpty(dir, offlinetest.PeerID(t), "127.0.0.1:1", strings.NewReader("")); err != nil || n != 0 {
		t.Fatalf("import allowing empty: %d, %v", n, err)
	}
	offlinetest.SamePins(t, offlinetest.Export(t, dir), nil)
}

// An import sorts the pins in runs on disk and writes them in batches: a
// CID given twice is still one pin, the later line winning, whether both
// lines fall in the same run or not.
func TestImportManyPinsInBatchesAndRuns(t *testing.T) {
	offline.SetImportSizes(t, 100, 250)
	const n = 1000
	pin := func(i int, name string) storage.Pin {
		return storage.Pin{Cid: offlinetest.CID(i), Name: name, ReplicationFactorMin: -1, ReplicationFactorMax: -1}
	}
	var lines []storage.Pin
	for i := range n {
		lines = append(lines, pin(i, "first"))
		switch i {
		case 100:
			lines = append(lines, pin(7, "same run"))
		case 600:
			lines = append(lines, pin(5, "later run"))
		}
	}
	lines = append(lines, pin(0, "last line"))
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, p := range lines {
		_ = enc.Encode(p)
	}
	dir := t.TempDir()
	got, err := offline.Import(dir, offlinetest.PeerID(t), "127.0.0.1:1", &b)
	if err != nil || got != n {
		t.Fatalf("imported %d (%v), want %d", got, err, n)
	}
	if c, err := offline.PinCount(dir); err != nil || c != n {
		t.Fatalf("count %d %v", c, err)
	}
	st, err := storage.OpenState(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, want := range map[int]string{0: "last line", 5: "later run", 7: "same run", 8: "first", n - 1: "first"} {
		if p, err := st.Get(offlinetest.CID(i)); err != nil || p.Name != want {
			t.Errorf("pin %d: %q %v, want %q", i, p.Name, err, want)
		}
	}
}

func TestExportOfAFolderWithoutState(t *testing.T) {
	dir := t.TempDir()
	if _, err := offline.Export(dir, io.Discard); err == nil || !strings.Contains(err.Error(), "no peer state") {
		t.Fatalf("err %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("export wrote into an empty folder: %v", entries)
	}
}

// An import into a peer that has never run locks its folder, which has no
// file of its own to lock yet, and waits for no one: a daemon (or another
// import) that holds the folder makes it refuse.
func TestImportRefusesAFolderADaemonHolds(t *testing.T) {
	dir := t.TempDir()
	release, err := folderlock.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := offline.Import(dir, "a", "a:9096", offlinetest.NDJSON(t, pinsOf(3))); !errors.Is(err, offline.ErrPeerRunning) {
		t.Fatalf("import into a held folder: %v", err)
	}
	release()
	if n, err := offline.Import(dir, "a", "a:9096", offlinetest.NDJSON(t, pinsOf(3))); err != nil || n != len(pinsOf(3)) {
		t.Fatalf("import once the folder is free: %d, %v", n, err)
	}
}
