package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A peer that stays unreachable makes Raft log a failure twice a second;
// the operator reads one warning a minute for each peer, with the count of
// the rest, and other lines as before.
func TestRaftsRepeatedFailuresToReachAPeerAreLoggedOnceAMinute(t *testing.T) {
	var out bytes.Buffer
	start := time.Unix(1_800_000_000, 0)
	clock := start
	w := &hclogWriter{log: zerolog.New(&out), repeats: &repeatLimiter{now: func() time.Time { return clock }}}
	write := func(line string) { w.Write([]byte(line + "\n")) }
	for range 10 {
		write(`[ERROR] raft: failed to heartbeat to: peer=127.0.0.1:9196 backoff time=500ms error="dial tcp 127.0.0.1:9196: connection refused"`)
		write(`[ERROR] raft: failed to appendEntries to: peer="{Voter A 127.0.0.1:9196}" error="dial tcp: connection refused"`)
		write(`[ERROR] raft: failed to heartbeat to: peer=127.0.0.1:9296 backoff time=500ms error="dial tcp 127.0.0.1:9296: connection refused"`)
		write(`[ERROR] raft: something else went wrong`)
		clock = clock.Add(500 * time.Millisecond)
	}
	// The first peer stays unreachable for the rest of the minute.
	for clock.Before(start.Add(repeatInterval)) {
		write(`[ERROR] raft: failed to heartbeat to: peer=127.0.0.1:9196 backoff time=500ms error="dial tcp 127.0.0.1:9196: connection refused"`)
		clock = clock.Add(500 * time.Millisecond)
	}
	write(`[ERROR] raft: failed to heartbeat to: peer=127.0.0.1:9196 backoff time=500ms error="dial tcp 127.0.0.1:9196: connection refused"`)

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, ev)
	}
	count := func(prefix, level string) (n int) {
		for _, ev := range lines {
			if strings.HasPrefix(ev["message"].(string), prefix) && ev["level"] == level {
				n++
			}
		}
		return n
	}
	if got := count("raft: failed to heartbeat to: peer=127.0.0.1:9196", "warn"); got != 2 {
		t.Errorf("%d warnings for the first peer's heartbeats, want 2 (one a minute)", got)
	}
	if got := count("raft: failed to heartbeat to: peer=127.0.0.1:9296", "warn"); got != 1 {
		t.Errorf("%d warnings for the second peer's heartbeats, want 1", got)
	}
	if got := count("raft: failed to appendEntries to", "warn"); got != 1 {
		t.Errorf("%d warnings for the appends, want 1", got)
	}
	if got := count("raft: something else went wrong", "error"); got != 10 {
		t.Errorf("%d of the other error lines, want all 10", got)
	}
	if last := lines[len(lines)-1]; last["repeats_not_logged"] != float64(119) {
		t.Errorf("the minute's next warning says %v were left out, want 119 (twice a second for a minute, less the one logged)", last["repeats_not_logged"])
	}
}

// Raft's warnings and errors of routine steps (an election going on, a log
// caught up from further back at a join, a vote refused while a leader is
// known, a handover, a shutdown's own cut connection) are info, which the Raft logger leaves out at its warn level; a real warning
// stays one.
func TestRaftsRoutineWarningsAreNotWarnings(t *testing.T) {
	var out bytes.Buffer
	w := &hclogWriter{log: zerolog.New(&out).Level(zerolog.WarnLevel), repeats: &repeatLimiter{now: time.Now}}
	for _, line := range []string{
		`[WARN]  raft: heartbeat timeout reached, starting election: last-leader-addr=127.0.0.1:9196 last-leader-id=A`,
		`[WARN]  raft: Election timeout reached, restarting election`,
		`[WARN]  raft: appendEntries rejected, sending older logs: peer="{Voter B 127.0.0.1:9296}" next=24`,
		`[WARN]  raft: failed to get previous log: previous-index=28 last-index=23 error="log not found"`,
		`[WARN]  raft: rejecting pre-vote request since we have a leader: from=127.0.0.1:9396 leader=127.0.0.1:9196`,
		`[ERROR] raft: peer has newer term, stopping replication: peer="{Voter B 127.0.0.1:9296}"`,
		`[ERROR] raft: failed to decode incoming command: error="transport shutdown"`,
		`[WARN]  raft: unable to get address for server, using fallback address: id=C`,
	} {
		w.Write([]byte(line + "\n"))
	}
	got := strings.TrimSpace(out.String())
	if strings.Count(got, "\n") != 0 || !strings.Contains(got, "unable to get address for server") {
		t.Fatalf("logged at warn:\n%s\nwant only the one real warning", got)
	}
}

// Raft names the peer it failed to contact by server-id: each peer's line
// is let through on its own, not one for every peer together.
func TestFailuresToContactArePacedPerPeer(t *testing.T) {
	var out bytes.Buffer
	w := &hclogWriter{log: zerolog.New(&out), repeats: &repeatLimiter{now: time.Now}}
	w.Write([]byte(`[WARN]  raft: failed to contact: server-id=12D3KooWA time=2.5s` + "\n"))
	w.Write([]byte(`[WARN]  raft: failed to contact: server-id=12D3KooWB time=2.5s` + "\n"))
	if n := strings.Count(strings.TrimSpace(out.String()), "\n") + 1; n != 2 {
		t.Fatalf("%d lines for two peers' first failures to contact, want 2:\n%s", n, out.String())
	}
}

// A peer unreachable for a few seconds, back for an hour, then unreachable
// again: the warning of the second outage counts only its own repeats, not
// those of the first.
func TestTheRepeatsOfAnEarlierOutageAreNotCountedInALaterOne(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(1_800_000_000, 0)
	w := &hclogWriter{log: zerolog.New(&out), repeats: &repeatLimiter{now: func() time.Time { return clock }}}
	outage := func(lines int) {
		for range lines {
			w.Write([]byte(`[ERROR] raft: failed to heartbeat to: peer=127.0.0.1:9196 backoff time=500ms error="connection refused"` + "\n"))
			clock = clock.Add(500 * time.Millisecond)
		}
	}
	outage(10)
	clock = clock.Add(time.Hour)
	outage(1)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || last["repeats_not_logged"] != nil {
		t.Fatalf("the second outage's first line says %v were left out, want none (lines: %d)", last["repeats_not_logged"], len(lines))
	}
}
