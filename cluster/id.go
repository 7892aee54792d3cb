package cluster

import (
	"context"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/version"
	"github.com/flotilla-ipfs/flotilla/types"
)

// IPFSIdentity is what the node asks of its upstream for GET /id.
type IPFSIdentity interface {
	IPFSID(ctx context.Context) (id string, addresses []string, err error)
}

// ID describes this peer.
func (n *Node) ID(ctx context.Context) types.ID {
	info := types.ID{
		ID:                    n.cfg.ID,
		Addresses:             []string{n.cfg.Advertise},
		ClusterPeers:          []string{},
		ClusterPeersAddresses: []string{},
		Version:               version.Version,
		Commit:                version.Commit,
		RPCProtocolVersion:    version.RPCProtocol,
		Peername:              n.cfg.Name,
		Raft:                  n.RaftInfo(),
		IPFS:                  types.IPFSID{Addresses: []string{}},
	}
	if cf := n.rp.raft.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			info.ClusterPeers = append(info.ClusterPeers, string(s.ID))
			info.ClusterPeersAddresses = append(info.ClusterPeersAddresses, string(s.Address))
		}
	}
	if ider, ok := n.cfg.IPFS.(IPFSIdentity); ok {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		id, addrs, err := ider.IPFSID(ctx)
		if err != nil {
			info.IPFS.Error = err.Error()
		} else {
			info.IPFS.ID = id
			if addrs != nil {
				info.IPFS.Addresses = addrs
			}
		}
	}
	return info
}
