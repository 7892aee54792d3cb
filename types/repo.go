package types

// RepoStat is the part of Kubo's repo/stat that sums over a cluster.
type RepoStat struct {
	RepoSize   uint64
	StorageMax uint64
	NumObjects uint64
}

// RepoGCKey is one line of a peer's garbage collection: a removed CID, or
// an error.
type RepoGCKey struct {
	Key   *string `json:"key"`
	Error string  `json:"error,omitempty"`
}

// RepoGC is one peer's garbage collection, ipfs-cluster's RepoGC.
type RepoGC struct {
	Peer     string      `json:"peer"`
	Peername string      `json:"peername"`
	Keys     []RepoGCKey `json:"keys"`
	Error    string      `json:"error,omitempty"`
}
