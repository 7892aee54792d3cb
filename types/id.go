package types

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
	// Role is the peer's part in the cluster: RoleLeader, RoleVoter,
	// RoleNonVoter or RoleFollower. ipfs-cluster has no such field.
	Role string `json:"role,omitempty"`
}

// The roles of a peer: a voter that leads, a voter, a non-voter that may be
// promoted, and a read-only follower that mirrors the pinset.
const (
	RoleLeader   = "leader"
	RoleVoter    = "voter"
	RoleNonVoter = "non-voter"
	RoleFollower = "follower"
)

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
