package testkit

import (
	"encoding/json"
	"sync"
)

// LogLines keeps a logger's JSON lines, decoded, for tests of what an
// operator reads or greps for. It is an io.Writer for zerolog.
type LogLines struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *LogLines) Write(p []byte) (int, error) {
	var line map[string]any
	if err := json.Unmarshal(p, &line); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	return len(p), nil
}

// Find is the lines whose message is msg and whose fields hold fields.
func (l *LogLines) Find(msg string, fields map[string]any) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range l.lines {
		if line["message"] != msg {
			continue
		}
		match := true
		for k, v := range fields {
			match = match && line[k] == v
		}
		if match {
			out = append(out, line)
		}
	}
	return out
}

// Messages is every message logged so far, in order: for a test that
// looks at what was logged after a point, or for a prefix (Raft's lines
// carry their fields in the message).
func (l *LogLines) Messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.lines))
	for _, line := range l.lines {
		m, _ := line["message"].(string)
		out = append(out, m)
	}
	return out
}
