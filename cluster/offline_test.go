package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// fullPins sets every field a Pin has, with values that differ from pin to
// pin, so that a field lost or crossed between pins shows.
func fullPins(n int) []storage.Pin {
	var out []storage.Pin
	for i := range n {
		out = append(out, storage.Pin{
			Cid:                  testCid(1000 + i),
			Name:                 fmt.Sprintf("pin %d <&>", i),
			Mode:                 storage.Mode(i % 2),
			ReplicationFactorMin: 1 + i,
			ReplicationFactorMax: 2 + i,
			Allocations:          []string{fmt.Sprintf("peer-a%d", i), "peer-b"},
			UserAllocations:      []string{fmt.Sprintf("peer-u%d", i)},
			Origins:              []string{fmt.Sprintf("/ip4/10.0.0.%d/tcp/4001/p2p/12D3KooWorigin", i)},
			Metadata:             map[string]string{"k": fmt.Sprint(i), "team": "ops"},
			ExpireAt:             time.Date(2031, 1, 2, 3, 4, 5, 600+i, time.UTC),
			Timestamp:            time.Date(2026, 5, 6, 7, 8, 9, 123456789-i, time.UTC),
			PinUpdate:            testCid(2000 + i),
		})
	}
	return out
}

func ndjson(t *testing.T, pins []storage.Pin) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, p := range pins {
		if err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
	}
	return &b
}

func exportPins(t *testing.T, dataDir string) []storage.Pin {
	t.Helper()
	var b bytes.Buffer
	n, err := ExportState(dataDir, &b)
	if err != nil {
		t.Fatal(err)
	}
	var out []storage.Pin
	dec := json.NewDecoder(&b)
	for {
		var p storage.Pin
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	if n != len(out) {
		t.Fatalf("ExportState counted %d pins but wrote %d", n, len(out))
	}
	return out
}

func sortPins(ps []storage.Pin) {
	slices.SortFunc(ps, func(a, b storage.Pin) int { return strings.Compare(a.Cid.KeyString(), b.Cid.KeyString()) })
}

// samePins compares field by field, so that a failure names the field.
func samePins(t *testing.T, got, want []storage.Pin) {
	t.Helper()
	sortPins(got)
	sortPins(want)
	if len(got) != len(want) {
		t.Fatalf("%d pins, want %d: %v", len(got), len(want), cids(got))
	}
	for i := range want {
		g, w := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
		for f := range g.NumField() {
			name := g.Type().Field(f).Name
			gv, wv := g.Field(f).Interface(), w.Field(f).Interface()
			if gt, ok := gv.(time.Time); ok {
				if !gt.Equal(wv.(time.Time)) {
					t.Errorf("pin %s: %s = %v, want %v", want[i].Cid, name, gv, wv)
				}
				continue
			}
			if !reflect.DeepEqual(gv, wv) {
				t.Errorf("pin %s: %s = %#v, want %#v", want[i].Cid, name, gv, wv)
			}
		}
	}
}

func cids(ps []storage.Pin) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Cid.String())
	}
	return out
}

func newID(t *testing.T) string {
	t.Helper()
	ident, err := config.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return ident.ID
}

func TestExportImportRoundTripsEveryField(t *testing.T) {
	want := fullPins(5)
	src := t.TempDir()
	if n, err := ImportState(src, newID(t), "127.0.0.1:1", ndjson(t, want)); err != nil || n != len(want) {
		t.Fatalf("import: %d %v", n, err)
	}
	var first bytes.Buffer
	if _, err := ExportState(src, &first); err != nil {
		t.Fatal(err)
	}
	samePins(t, exportPins(t, src), want)

	// And again through a second peer: the export is the import's input.
	dst := t.TempDir()
	if _, err := ImportState(dst, newID(t), "127.0.0.1:2", bytes.NewReader(first.Bytes())); err != nil {
		t.Fatal(err)
	}
	var second bytes.Buffer
	if _, err := ExportState(dst, &second); err != nil {
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
	if _, err := ImportState(dir, newID(t), "127.0.0.1:1", strings.NewReader(line)); err != nil {
		t.Fatal(err)
	}
	got := exportPins(t, dir)
	if len(got) != 1 || got[0].Mode != storage.Direct || got[0].Name != "foo" || !got[0].Everywhere() ||
		got[0].Metadata["k1"] != "v1" || !got[0].Timestamp.Equal(time.Date(2026, 11, 25, 4, 38, 10, 0, time.UTC)) {
		t.Fatalf("imported %+v", got)
	}
}

func TestImportRefusesBadPinsAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	keep := fullPins(2)
	if _, err := ImportState(dir, newID(t), "127.0.0.1:1", ndjson(t, keep)); err != nil {
		t.Fatal(err)
	}
	good := ndjson(t, fullPins(1)).String()
	for name, tc := range map[string]struct{ input, want string }{
		"bad cid":     {`{"cid":"nope","mode":"recursive","replication_factor_min":-1,"replication_factor_max":-1}`, "pin 2: pin cid"},
		"bad mode":    {strings.Replace(good, `"mode":"recursive"`, `"mode":"sideways"`, 1), "pin 2: invalid pin mode"},
		"shard pin":   {strings.Replace(good, `"type":"pin"`, `"type":"shard-pin"`, 1), "not supported"},
		"bad factors": {strings.Replace(good, `"replication_factor_min":1`, `"replication_factor_min":0`, 1), "replication factors"},
		"not json":    {"{", "pin 2:"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ImportState(dir, newID(t), "127.0.0.1:1", strings.NewReader(good+tc.input+"\n"+good))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to say %q", err, tc.want)
			}
			samePins(t, exportPins(t, dir), keep)
			if left, _ := filepath.Glob(filepath.Join(dir, offlineTempPrefix+"*")); len(left) > 0 {
				t.Fatalf("temp files left behind: %v", left)
			}
		})
	}
}

func TestImportManyPinsInBatches(t *testing.T) {
	const n = 3*importBatchPins + 7
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range n {
		_ = enc.Encode(storage.Pin{Cid: testCid(i), ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	}
	// A CID given twice is one pin, the later line winning.
	_ = enc.Encode(storage.Pin{Cid: testCid(0), Name: "again", ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	dir := t.TempDir()
	got, err := ImportState(dir, newID(t), "127.0.0.1:1", &b)
	if err != nil || got != n {
		t.Fatalf("imported %d (%v), want %d", got, err, n)
	}
	if c, err := StatePinCount(dir); err != nil || c != n {
		t.Fatalf("count %d %v", c, err)
	}
	st, err := storage.OpenState(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if p, err := st.Get(testCid(0)); err != nil || p.Name != "again" {
		t.Fatalf("duplicate CID: %+v %v", p, err)
	}
}

func TestImportedPinsetSurvivesRestart(t *testing.T) {
	p := newTestPeer(t)
	old := []cid.Cid{testCid(1), testCid(2)}
	// One old pin in a snapshot, one in the log after it: a start that
	// restored the old snapshot, or replayed the log over the import,
	// would bring them back.
	for i, c := range old {
		if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: c, Name: "old"}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := p.node.rp.raft.Snapshot().Error(); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, "old pins upstream", func() bool { return p.up.has(old[0]) && p.up.has(old[1]) })
	p.stop()

	imported := []storage.Pin{
		{Cid: testCid(3), Name: "new", ReplicationFactorMin: -1, ReplicationFactorMax: -1, Timestamp: time.Unix(1700000000, 0).UTC()},
		{Cid: testCid(4), Mode: storage.Direct, ReplicationFactorMin: -1, ReplicationFactorMax: -1, Metadata: map[string]string{"a": "b"}},
	}
	if n, err := StatePinCount(p.dir); err != nil || n != 2 {
		t.Fatalf("pin count before import: %d %v", n, err)
	}
	if _, err := ImportState(p.dir, p.id, p.addr, ndjson(t, imported)); err != nil {
		t.Fatal(err)
	}

	p.start()
	samePins(t, listPins(t, p.node), imported)
	for _, c := range old {
		if _, err := p.node.Get(ctx(t), c); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("old pin %s is back: %v", c, err)
		}
	}
	eventually(t, "the upstream to hold the imported pinset", func() bool {
		return p.up.has(testCid(3)) && p.up.has(testCid(4)) && !p.up.has(old[0]) && !p.up.has(old[1])
	})

	// The log goes on after the import's snapshot, and a second restart
	// replays it on top.
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.node.Unpin(ctx(t), testCid(4)); err != nil {
		t.Fatal(err)
	}
	want := listPins(t, p.node)
	p.stop()
	samePins(t, exportPins(t, p.dir), want)
	p.start()
	samePins(t, listPins(t, p.node), want)
	if got := cids(want); len(got) != 2 || !slices.Contains(got, testCid(5).String()) {
		t.Fatalf("pinset after restart %v", got)
	}
}

func TestImportOnFreshHomeStartsAOneVoterCluster(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &testPeer{t: t, dir: filepath.Join(t.TempDir(), "data"), id: newID(t), addr: addr, up: newMemUpstream()}
	want := fullPins(3)
	for i := range want {
		// Allocations name this peer, so that its tracker pins them.
		want[i].Allocations = []string{p.id}
		want[i].PinUpdate = cid.Undef
	}
	if _, err := ImportState(p.dir, p.id, p.addr, ndjson(t, want)); err != nil {
		t.Fatal(err)
	}
	p.start()
	t.Cleanup(p.stop)
	samePins(t, listPins(t, p.node), want)
	if info := p.node.RaftInfo(); info.State != "leader" || !info.Voter {
		t.Fatalf("raft %+v", info)
	}
	eventually(t, "imported pins upstream", func() bool {
		return p.up.has(want[0].Cid) && p.up.has(want[1].Cid) && p.up.has(want[2].Cid)
	})
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(9)}); err != nil {
		t.Fatal(err)
	}
}

// TestExportReplaysTheLog stops a peer with entries in its log after its
// last snapshot, and state.db current, behind, older than the snapshot or
// gone: export gives the same pinset in every case, and leaves state.db as
// it was.
func TestExportReplaysTheLog(t *testing.T) {
	p := newTestPeer(t)
	pin := func(i int) {
		t.Helper()
		if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(i), Name: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	save := func() []byte {
		t.Helper()
		var b bytes.Buffer
		if err := p.node.state.WriteSnapshot(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	pin(1)
	beforeSnapshot := save()
	pin(2)
	if err := p.node.rp.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	atSnapshot := save()
	pin(3)
	if _, err := p.node.Unpin(ctx(t), testCid(1)); err != nil {
		t.Fatal(err)
	}
	want := listPins(t, p.node)
	if got := cids(want); len(got) != 2 {
		t.Fatalf("pinset %v", got)
	}
	current := save()
	p.stop()

	statePath := filepath.Join(p.dir, "state.db")
	for _, tc := range []struct {
		name  string
		state []byte // nil: no state.db
	}{
		{"current", current},
		{"behind the log", atSnapshot},
		{"older than the snapshot", beforeSnapshot},
		{"missing", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(statePath)
			if tc.state != nil {
				if err := os.WriteFile(statePath, tc.state, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			samePins(t, exportPins(t, p.dir), want)
			if n, err := StatePinCount(p.dir); err != nil || n != len(want) {
				t.Fatalf("count %d %v", n, err)
			}
			if tc.state == nil {
				if _, err := os.Stat(statePath); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("export created state.db: %v", err)
				}
				return
			}
			orig := filepath.Join(t.TempDir(), "orig.db")
			if err := os.WriteFile(orig, tc.state, 0o600); err != nil {
				t.Fatal(err)
			}
			if got, want := stateSummary(t, statePath), stateSummary(t, orig); got != want {
				t.Fatalf("export moved state.db from %s to %s", want, got)
			}
		})
	}
	// The daemon agrees: it restores the snapshot and replays the same log.
	p.start()
	samePins(t, listPins(t, p.node), want)
}

func TestOfflineRefusesARunningPeer(t *testing.T) {
	p := newTestPeer(t)
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ExportState(p.dir, io.Discard); !errors.Is(err, ErrPeerRunning) {
		t.Fatalf("export on a running peer: %v", err)
	}
	if _, err := ImportState(p.dir, p.id, p.addr, ndjson(t, fullPins(1))); !errors.Is(err, ErrPeerRunning) {
		t.Fatalf("import on a running peer: %v", err)
	}
	if _, err := p.node.Get(ctx(t), testCid(1)); err != nil {
		t.Fatalf("the running peer lost its pin: %v", err)
	}
}

func TestExportOfAFolderWithoutState(t *testing.T) {
	dir := t.TempDir()
	if _, err := ExportState(dir, io.Discard); err == nil || !strings.Contains(err.Error(), "no peer state") {
		t.Fatalf("err %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("export wrote into an empty folder: %v", entries)
	}
}

// stateSummary is a state file's applied index and pinset. Opening a file
// rewrites its meta page, so bytes cannot be compared.
func stateSummary(t *testing.T, path string) string {
	t.Helper()
	st, err := storage.OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	idx, err := st.AppliedIndex()
	if err != nil {
		t.Fatal(err)
	}
	var pins []storage.Pin
	if err := st.ForEach(func(p storage.Pin) error { pins = append(pins, p); return nil }); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("index %d, pins %v", idx, cids(pins))
}

// listPins lists the pinset once the node applied its whole log: a
// restarted leader replays the entries after its snapshot only once it has
// committed a new one.
func listPins(t *testing.T, n *Node) []storage.Pin {
	t.Helper()
	if err := n.rp.raft.Barrier(10 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	var out []storage.Pin
	if err := n.List(ctx(t), func(p storage.Pin) error { out = append(out, p); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}
