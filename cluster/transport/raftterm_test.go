package transport

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// raftOver is a Raft transport over p, as the Node makes one.
func raftOver(t *testing.T, p *Port) *raft.NetworkTransport {
	t.Helper()
	tr := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: p.Raft(), MaxPool: 2, Timeout: 5 * time.Second})
	t.Cleanup(func() { tr.Close() })
	return tr
}

// answerWith answers every AppendEntries that reaches tr with the term
// that term holds.
func answerWith(tr *raft.NetworkTransport, term *atomic.Uint64) {
	go func() {
		for rpc := range tr.Consumer() {
			rpc.Respond(&raft.AppendEntriesResponse{Term: term.Load(), LastLog: 9, Success: true}, nil)
		}
	}()
}

func TestAFollowerCannotUnseatTheLeaderWithAHigherTerm(t *testing.T) {
	leader, log := startMember(t, clusterSecret)
	leader.SetCurrentTerm(func() uint64 { return 5 })
	follower, _ := startFollower(t, leader.memberPub, nil)
	leaderRaft, followerRaft := raftOver(t, leader), raftOver(t, follower)
	var answered atomic.Uint64
	answered.Store(5)
	answerWith(followerRaft, &answered)
	target := raft.ServerAddress(follower.Addr().String())
	send := func() (raft.AppendEntriesResponse, error) {
		var resp raft.AppendEntriesResponse
		err := leaderRaft.AppendEntries("follower", target, &raft.AppendEntriesRequest{Term: 5, Leader: []byte("leader")}, &resp)
		return resp, err
	}

	// Honest answers, several on one connection, pass unchanged.
	for range 3 {
		if resp, err := send(); err != nil || resp.Term != 5 || resp.LastLog != 9 || !resp.Success {
			t.Fatalf("an honest answer came through as %+v, %v", resp, err)
		}
	}
	// And pipelined, as Raft replicates: answers back to back.
	pipe, err := leaderRaft.AppendEntriesPipeline("follower", target)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	answers := make(chan error, 4)
	go func() {
		for range 4 {
			f := <-pipe.Consumer()
			if err := f.Error(); err != nil || f.Response().Term != 5 || !f.Response().Success {
				answers <- fmt.Errorf("a pipelined answer came through as %+v, %v", f.Response(), err)
				continue
			}
			answers <- nil
		}
	}()
	for range 4 {
		if _, err := pipe.AppendEntries(&raft.AppendEntriesRequest{Term: 5}, &raft.AppendEntriesResponse{}); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		select {
		case err := <-answers:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a pipelined answer never came")
		}
	}

	// A follower that claims a later term than the leader's is cut off
	// before Raft reads the claim.
	answered.Store(1 << 40)
	if resp, err := send(); err == nil || resp.Term != 0 {
		t.Fatalf("a follower's claim of a later term reached Raft: %+v, %v", resp, err)
	}
	log.waitFor(t, "a term above the leader's")
}

func TestAMemberMayAnswerWithAHigherTerm(t *testing.T) {
	leader, _ := startMember(t, clusterSecret)
	leader.SetCurrentTerm(func() uint64 { return 5 })
	voter, _ := startMember(t, clusterSecret)
	leaderRaft, voterRaft := raftOver(t, leader), raftOver(t, voter)
	var answered atomic.Uint64
	answered.Store(6)
	answerWith(voterRaft, &answered)
	var resp raft.AppendEntriesResponse
	err := leaderRaft.AppendEntries("voter", raft.ServerAddress(voter.Addr().String()), &raft.AppendEntriesRequest{Term: 5}, &resp)
	if err != nil || resp.Term != 6 {
		t.Fatalf("a voter's later term came through as %+v, %v", resp, err)
	}
}
