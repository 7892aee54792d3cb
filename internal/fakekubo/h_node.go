package fakekubo

import "errors"

var (
	versionOpts = []option{
		boolOpt(nil, "number", "n"),
		boolOpt(nil, "commit"),
		boolOpt(nil, "repo"),
		boolOpt(nil, "all"),
	}
	idOpts = []option{
		strOpt(nil, "format", "f"),
		strOpt("b58mh", "peerid-base"),
	}
	repoStatOpts = []option{
		boolOpt(nil, "size-only", "s"),
		boolOpt(nil, "human", "H"),
	}
	resolveOpts = []option{
		boolOpt(true, "recursive", "r"),
		intOpt(nil, "dht-record-count", "dhtrc"),
		strOpt(nil, "dht-timeout", "dhtt"),
	}
)

// defaultStorageMax is Kubo's default Datastore.StorageMax, 10GB.
const defaultStorageMax = 10_000_000_000

// fakeRepoPath is what repo/stat reports; no real path is involved.
const fakeRepoPath = "/fakekubo/.ipfs"

func runVersion(c *call) error {
	return c.em.single(struct {
		Version, Commit, Repo, System, Golang string
	}{version, "", "18", "amd64/linux", "go1.26"})
}

var protocols = []string{
	"/ipfs/bitswap", "/ipfs/bitswap/1.0.0", "/ipfs/bitswap/1.1.0", "/ipfs/bitswap/1.2.0",
	"/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/kad/1.0.0", "/ipfs/ping/1.0.0",
}

func runID(c *call) error {
	if len(c.args) > 0 && c.args[0] != c.f.ID() {
		return errors.New("routing: not found")
	}
	c.f.mu.Lock()
	addrs := append([]string(nil), c.f.addrs...)
	c.f.mu.Unlock()
	return c.em.single(struct {
		ID           string
		PublicKey    string
		Addresses    []string
		AgentVersion string
		Protocols    []string
	}{c.f.ID(), c.f.pubKey, addrs, "kubo/" + version + "/", protocols})
}

func runRepoStat(c *call) error {
	c.f.mu.Lock()
	var size, num uint64
	for _, b := range c.f.blocks {
		size += b.size
		num++
	}
	storageMax := uint64(defaultStorageMax)
	if rs := c.f.repoStat; rs != nil {
		size, storageMax = rs.size, rs.max
	}
	c.f.mu.Unlock()

	out := struct {
		RepoSize   uint64
		StorageMax uint64
		NumObjects uint64
		RepoPath   string
		Version    string
	}{size, storageMax, num, fakeRepoPath, "fs-repo@18"}
	if c.flag("size-only") {
		// Kubo skips counting objects and leaves the other fields empty.
		out.NumObjects, out.RepoPath, out.Version = 0, "", ""
	}
	return c.em.single(out)
}

func runResolve(c *call) error {
	ci, err := c.f.resolveArg(c.args[0])
	if err != nil {
		return err
	}
	return c.em.single(struct{ Path string }{"/ipfs/" + c.enc(ci)})
}

func runDagResolve(c *call) error {
	ci, err := c.f.resolveArg(c.args[0])
	if err != nil {
		return err
	}
	return c.em.single(struct {
		Cid     cidLink
		RemPath string
	}{cidLink{c.enc(ci)}, ""})
}
