package intercept

import (
	"fmt"
	"io"
)

// repoStatOutput is Kubo's repo/stat answer; no field is omitempty.
type repoStatOutput struct {
	RepoSize   uint64
	StorageMax uint64
	NumObjects uint64
	RepoPath   string
	Version    string
}

func textRepoStat(o options, w io.Writer, v any) error {
	out := v.(repoStatOutput)
	if !o.flag("size-only", false) {
		if _, err := fmt.Fprintf(w, "NumObjects: %d\n", out.NumObjects); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "RepoSize:   %d\nStorageMax: %d\n", out.RepoSize, out.StorageMax)
	return err
}

// runRepoStat answers with the sums over every peer. RepoPath and Version
// describe one repo and so stay empty, as they are with size-only.
func runRepoStat(c *call) error {
	total, err := c.h.cluster.RepoStat(c.ctx)
	if err != nil {
		return err
	}
	out := repoStatOutput{RepoSize: total.RepoSize, StorageMax: total.StorageMax, NumObjects: total.NumObjects}
	if c.opts.flag("size-only", false) {
		out.NumObjects = 0
	}
	return c.out.once(out)
}
