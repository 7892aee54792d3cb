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
	clock := time.Unix(1_800_000_000, 0)
	w := &hclogWriter{log: zerolog.New(&out), repeats: &repeatLimiter{now: func() time.Time { return clock }}}
	write := func(line string) { w.Write([]byte(line + "\n")) }
	for range 10 {
		write(`[ERROR] raft: failed to heartbeat to: peer=127.0.0.1:9196 backoff time=500ms error="dial tcp 127.0.0.1:9196: connection refused"`)
		write(`[ERROR] raft: failed to appendEntries to: peer="{Voter A 127.0.0.1:9196}" error="dial tcp: connection refused"`)
		write(`[ERROR] raft: failed to heartbeat to: peer=127.0.0.1:9296 backoff time=500ms error="dial tcp 127.0.0.1:9296: connection refused"`)
		write(`[ERROR] raft: something else went wrong`)
		clock = clock.Add(500 * time.Millisecond)
	}
	clock = clock.Add(repeatInterval)
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
	if last := lines[len(lines)-1]; last["repeats_not_logged"] != float64(9) {
		t.Errorf("the minute's next warning says %v were left out, want 9", last["repeats_not_logged"])
	}
}
