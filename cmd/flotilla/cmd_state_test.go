package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func statePins(n, from int) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range n {
		_ = enc.Encode(storage.Pin{
			Cid:                  testCID(from + i),
			Name:                 fmt.Sprint("pin ", from+i),
			Mode:                 storage.Direct,
			ReplicationFactorMin: 1,
			ReplicationFactorMax: 2,
			Allocations:          []string{"a", "b"},
			Metadata:             map[string]string{"k": "v"},
			ExpireAt:             time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
			Timestamp:            time.Date(2026, 1, 1, 0, 0, 0, i, time.UTC),
			PinUpdate:            testCID(1000 + i),
		})
	}
	return b.Bytes()
}

// sameLines compares ndjson as sets of lines: export goes in CID order.
func sameLines(a, b string) bool {
	return sortRows("\n"+a) == sortRows("\n"+b)
}

// stateHome is a home fresh from `flotilla init`, and a runner of `state`
// subcommands on it.
func stateHome(t *testing.T) func(stdin []byte, args ...string) result {
	t.Helper()
	home := t.TempDir()
	if r := runCLI(t, nil, nil, "--path", home, "init"); r.code != 0 {
		t.Fatal(r)
	}
	return func(stdin []byte, args ...string) result {
		t.Helper()
		return runCLI(t, nil, bytes.NewBuffer(stdin), append([]string{"--path", home, "state"}, args...)...)
	}
}

func TestStateExportImport(t *testing.T) {
	state := stateHome(t)
	if r := state(nil, "export"); r.code != 1 || !strings.Contains(r.stderr, "no peer state") {
		t.Fatalf("export of a peer that never ran: %s", r)
	}

	first := statePins(3, 1)
	in := filepath.Join(t.TempDir(), "pins.ndjson")
	if err := os.WriteFile(in, first, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := state(nil, "import", "--file", in); r.code != 0 || r.stdout != "imported 3 pins; the peer serves them from its next start\n" {
		t.Fatalf("import: %s", r)
	}
	r := state(nil, "export")
	if r.code != 0 || !sameLines(r.stdout, string(first)) || r.stderr != "exported 3 pins\n" {
		t.Fatalf("export is not what was imported:\n%s\nwant:\n%s", r, first)
	}
	out := filepath.Join(t.TempDir(), "out.ndjson")
	if r := state(nil, "export", "--file", out); r.code != 0 {
		t.Fatal(r)
	}
	if b, _ := os.ReadFile(out); !sameLines(string(b), string(first)) {
		t.Fatalf("export --file wrote:\n%s", b)
	}

	second := statePins(2, 10)
	if r := state(second, "import"); r.code != 1 || !strings.HasPrefix(r.stderr, "flotilla state import: ") ||
		!strings.Contains(r.stderr, "holds 3 pins: use --force") {
		t.Fatalf("import over a pinset without --force: %s", r)
	}
	if r := state(second, "import", "--force"); r.code != 0 {
		t.Fatal(r)
	}
	if r := state(nil, "export"); !sameLines(r.stdout, string(second)) {
		t.Fatalf("after a forced import:\n%s", r)
	}
	if r := state([]byte("{\"cid\":\"x\"}\n"), "import", "--force"); r.code != 1 || !strings.Contains(r.stderr, `stdin:1: invalid cid "x"`) {
		t.Fatalf("import of garbage: %s", r)
	}
	if r := state(nil, "export"); !sameLines(r.stdout, string(second)) {
		t.Fatalf("a failed import changed the pinset:\n%s", r)
	}
	if r := state(nil); r.code != 2 {
		t.Fatalf("state without a subcommand: %s", r)
	}
	if r := state(nil, "import", "extra"); r.code != 2 {
		t.Fatalf("state import with an argument: %s", r)
	}
}

// importHome is stateHome holding the pins of statePins(3, 1).
func importHome(t *testing.T) func(stdin []byte, args ...string) result {
	t.Helper()
	state := stateHome(t)
	if r := state(statePins(3, 1), "import"); r.code != 0 {
		t.Fatal(r)
	}
	return state
}

// A forced import of nothing (an empty file, a wrong redirect) would
// empty the pinset, and the daemon's next start would unpin everything.
func TestStateImportRefusesAnInputWithoutPins(t *testing.T) {
	state := importHome(t)
	kept := string(statePins(3, 1))
	empty := filepath.Join(t.TempDir(), "pins.ndjson")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"import", "--force"}, "stdin holds no pins: nothing imported (to empty the pinset, give --allow-empty)"},
		{[]string{"import", "--force", "--file", empty}, empty + " holds no pins"},
	} {
		if r := state(nil, tc.args...); r.code != 1 || !strings.Contains(r.stderr, tc.says) {
			t.Fatalf("%v: want exit 1 saying %q, got %s", tc.args, tc.says, r)
		}
		if r := state(nil, "export"); !sameLines(r.stdout, kept) {
			t.Fatalf("a refused import changed the pinset:\n%s", r)
		}
	}
	if r := state(nil, "import", "--force", "--allow-empty"); r.code != 0 || !strings.HasPrefix(r.stdout, "imported 0 pins") {
		t.Fatalf("import --allow-empty: %s", r)
	}
	if r := state(nil, "export"); r.code != 0 || r.stdout != "" || r.stderr != "exported 0 pins\n" {
		t.Fatalf("after an import of nothing, allowed: %s", r)
	}
}

// "-" is stdin or stdout, as everywhere else, not a file named "-".
func TestStateFileDashIsStdinAndStdout(t *testing.T) {
	state := importHome(t)
	second := statePins(2, 10)
	if r := state(second, "import", "--force", "--file", "-"); r.code != 0 {
		t.Fatalf("import --file -: %s", r)
	}
	if r := state(nil, "export", "--file", "-"); r.code != 0 || !sameLines(r.stdout, string(second)) {
		t.Fatalf("export --file -: %s", r)
	}
}

// An error names the file and the line of the input, not the pin's number.
func TestStateImportErrorNamesFileAndLine(t *testing.T) {
	state := importHome(t)
	in := filepath.Join(t.TempDir(), "pins.ndjson")
	bad := append(append(statePins(2, 10), "\n{\"cid\":\"foo\"}\n"...), statePins(1, 20)...)
	if err := os.WriteFile(in, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := state(nil, "import", "--force", "--file", in); r.code != 1 || !strings.Contains(r.stderr, in+`:4: invalid cid "foo"`) {
		t.Fatalf("import of a bad line 4: %s", r)
	}
}

// A name longer than any API takes is refused with its file and line, and
// nothing is imported, rather than served by pin ls as no Kubo could.
func TestStateImportRefusesOverlongPinName(t *testing.T) {
	state := importHome(t)
	in := filepath.Join(t.TempDir(), "pins.ndjson")
	long := strings.Replace(string(statePins(1, 30)), `"name":"`, `"name":"`+strings.Repeat("x", 256), 1)
	if err := os.WriteFile(in, append(statePins(1, 10), long...), 0o600); err != nil {
		t.Fatal(err)
	}
	r := state(nil, "import", "--force", "--file", in)
	if r.code != 1 || !strings.Contains(r.stderr, in+":2: pin name is 262 characters (max 255") {
		t.Fatalf("import of an overlong name on line 2: %s", r)
	}
	if r := state(nil, "export"); r.code != 0 || !sameLines(r.stdout, string(statePins(3, 1))) {
		t.Fatalf("a refused import changed the pinset:\n%s", r)
	}
}

// Reading a terminal, the import says so, rather than leave a user who
// forgot --file at a silent prompt; a pipe or a file gets no such line.
func TestStateImportHintsWhenStdinIsATerminal(t *testing.T) {
	home := t.TempDir()
	if r := runCLI(t, nil, nil, "--path", home, "init"); r.code != 0 {
		t.Fatal(r)
	}
	const hint = "reading pins from stdin (end with Ctrl-D); use --file to read a file\n"
	for _, tty := range []bool{true, false} {
		stdin := bytes.NewBuffer(statePins(1, 1))
		env := Env{Stdin: stdin, IsTerminal: func(s any) bool { return tty && s == stdin }}
		r := runEnv(t, env, "--path", home, "state", "import", "--force")
		if r.code != 0 || strings.Contains(r.stderr, hint) != tty {
			t.Fatalf("stdin a terminal: %v: %s", tty, r)
		}
	}
	// A character device, but no terminal.
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if r := runEnv(t, Env{Stdin: null}, "--path", home, "state", "import", "--force"); r.code != 1 || strings.Contains(r.stderr, hint) {
		t.Fatalf("stdin %s: %s", os.DevNull, r)
	}
}
