package ipfs

import "context"

// These methods give the cluster peer what it asks of its upstream in plain
// values, so that the cluster package declares its own small interfaces
// without importing this one's types.

// FreeSpace is the room left in the repo: StorageMax minus RepoSize.
func (c *Client) FreeSpace(ctx context.Context) (uint64, error) {
	rs, err := c.RepoSize(ctx)
	if err != nil || rs.StorageMax <= rs.RepoSize {
		return 0, err
	}
	return rs.StorageMax - rs.RepoSize, nil
}

// RepoTotals is repo/stat's size, maximum and object count.
func (c *Client) RepoTotals(ctx context.Context) (size, max, objects uint64, err error) {
	rs, err := c.RepoStat(ctx)
	return rs.RepoSize, rs.StorageMax, rs.NumObjects, err
}

// IPFSID is the node's peer ID and addresses.
func (c *Client) IPFSID(ctx context.Context) (string, []string, error) {
	id, err := c.ID(ctx)
	return id.ID, id.Addresses, err
}
