package logging

import (
	"strings"
	"sync"
	"time"
)

// Raft logs these at error level on every try, twice a second for as long
// as a peer is unreachable: thousands of lines an hour that bury the
// errors an operator must see. The peer's death has its own alert
// (heartbeat expired), so they are warnings, once a repeatInterval for
// each peer, with the count of the lines left out.
var repeatingRaftLines = []string{
	"failed to heartbeat to",
	"failed to appendEntries to",
	"failed to make requestVote RPC",
	"failed to contact",
}

const repeatInterval = time.Minute

// repeatLimiter remembers when each repeating line of each peer was last
// let through, and last seen.
type repeatLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	last    map[string]time.Time
	seen    map[string]time.Time
	skipped map[string]int
}

// repeating reports whether line is one of repeatingRaftLines; if so, pass
// says whether to log it now, and skipped how many of its kind were left
// out since the last one logged, in this burst of them: after a silence of
// a repeatInterval the repeats before it were another outage's, whose
// count would mislead.
func (l *repeatLimiter) repeating(line string) (repeating, pass bool, skipped int) {
	kind := ""
	for _, k := range repeatingRaftLines {
		if strings.Contains(line, k) {
			kind = k
			break
		}
	}
	if kind == "" {
		return false, true, 0
	}
	key := kind + " " + peerOf(line)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.seen, l.skipped = map[string]time.Time{}, map[string]time.Time{}, map[string]int{}
	}
	now := l.now()
	if seen, ok := l.seen[key]; ok && now.Sub(seen) >= repeatInterval {
		delete(l.skipped, key)
	}
	l.seen[key] = now
	if last, ok := l.last[key]; ok && now.Sub(last) < repeatInterval {
		l.skipped[key]++
		return true, false, 0
	}
	skipped = l.skipped[key]
	l.last[key] = now
	delete(l.skipped, key)
	return true, true, skipped
}

// peerOf is the value of the line's peer= or target= field, quoted or not.
func peerOf(line string) string {
	for _, field := range []string{"peer=", "target=", "server-id="} {
		i := strings.Index(line, field)
		if i < 0 {
			continue
		}
		v := line[i+len(field):]
		if rest, ok := strings.CutPrefix(v, `"`); ok {
			if end := strings.IndexByte(rest, '"'); end >= 0 {
				return rest[:end]
			}
			return rest
		}
		if end := strings.IndexByte(v, ' '); end >= 0 {
			return v[:end]
		}
		return v
	}
	return ""
}
