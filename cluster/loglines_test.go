package cluster

import (
	"encoding/json"
	"sync"
	"testing"
)

// logLines keeps a peer's log lines, for tests of what an operator greps
// for.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logLines) Write(p []byte) (int, error) {
	var line map[string]any
	if err := json.Unmarshal(p, &line); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	return len(p), nil
}

// find is the lines whose message is msg and whose fields hold fields.
func (l *logLines) find(msg string, fields map[string]any) []map[string]any {
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

// peerName is the name a test peer runs with (testPeer.config).
func peerName(p *testPeer) string { return "peer-" + p.id[len(p.id)-4:] }

// After a change of leader every peer names the new one, at info, and the
// old leader says it no longer leads; the leader logs each member's join.
func TestLeaderChangesAndJoinsAreLogged(t *testing.T) {
	peers := newTestCluster(t, 3)
	for _, p := range peers[1:] {
		eventually(t, "a leader logged the member's join", func() bool {
			for _, q := range peers {
				if len(q.logs.find("a member joined the cluster", map[string]any{"peer": p.id, "peer_name": peerName(p)})) > 0 {
					return true
				}
			}
			return false
		})
	}
	old := leaderOf(t, peers)
	if err := old.node.rp.raft.LeadershipTransfer().Error(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the old leader logged that it no longer leads", func() bool {
		return len(old.logs.find("this peer is no longer the leader", nil)) > 0
	})
	// Another election may follow on a loaded machine: each peer must
	// have named whoever leads now.
	eventually(t, "every peer logged the new leader by ID and name", func() bool {
		now := currentLeader(peers)
		if now == nil || now == old {
			return false
		}
		for _, p := range peers {
			if len(p.logs.find("the cluster has a new leader", map[string]any{"leader": now.id, "leader_name": peerName(now)})) == 0 {
				return false
			}
		}
		return true
	})
}
