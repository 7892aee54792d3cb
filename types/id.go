package types

import "time"

// Roles of a peer in the cluster, as ID.Role names them: a voter that
// leads, a voter, a non-voter that may be promoted, and a read-only
// follower that mirrors the pinset.
const (
	RoleLeader   = "leader"
	RoleVoter    = "voter"
	RoleNonVoter = "non-voter"
	RoleFollower = "follower"
)

// ID is ipfs-cluster's ID object, plus the `raft` view. The peer fills it
// with host:port addresses; the admin API rewrites them as multiaddrs.
type ID struct {
	ID                    string   `json:"id"`
	Addresses             []string `json:"addresses"`
	ClusterPeers          []string `json:"cluster_peers"`
	ClusterPeersAddresses []string `json:"cluster_peers_addresses"`
	Version               string   `json:"version"`
	Commit                string   `json:"commit"`
	RPCProtocolVersion    string   `json:"rpc_protocol_version"`
	Error                 string   `json:"error"`
	IPFS                  IPFSID   `json:"ipfs"`
	Peername              string   `json:"peername"`
	Raft                  RaftInfo `json:"raft"`
	// Role is the peer's part in the cluster: one of the Role constants.
	Role string `json:"role"`
	// PinsByStatus counts the peer's own tracker records by status.
	PinsByStatus map[string]int `json:"pins_by_status,omitempty"`
	// LastHeartbeat is when the peer that answers GET /peers last heard
	// this one's heartbeat: its view, not the described peer's. Zero when
	// never heard.
	LastHeartbeat time.Time `json:"last_heartbeat,omitzero"`
}

// IPFSID is the `ipfs` object of ID. An unknown IPFS ID is left out rather
// than sent empty: ipfs-cluster's clients reject an empty peer ID.
type IPFSID struct {
	ID        string   `json:"id,omitempty"`
	Addresses []string `json:"addresses"`
	Error     string   `json:"error"`
}

// RaftInfo is the `raft` object of ID: this peer's view of consensus.
type RaftInfo struct {
	State        string `json:"state"`
	Leader       string `json:"leader"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	Voter        bool   `json:"voter"`
}
