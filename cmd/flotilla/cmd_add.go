package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	files "github.com/ipfs/boxo/files"
)

// addOptionFlags are /add's own query parameters (features doc §2.3) that
// the CLI offers, sent when set.
var addOptionFlags = []string{"wrap-with-directory", "cid-version", "raw-leaves", "chunker", "no-pin"}

// addedOutput is ipfs-cluster's AddedOutput; cid is null on progress lines.
type addedOutput struct {
	Name        string   `json:"name"`
	Cid         *string  `json:"cid"`
	Size        uint64   `json:"size"`
	Allocations []string `json:"allocations"`
}

type addCommand struct {
	*clientCommand
	pin       *pinFlags
	wait      *waitFlags
	recursive bool
	wrap      bool
	noPin     bool
}

func newAddCommand(g *globals, name, args string) command {
	cmd := &addCommand{clientCommand: newClientCommand(g, name, args)}
	cmd.pin = addPinFlags(cmd.fs)
	cmd.wait = addWaitFlags(cmd.fs)
	cmd.fs.BoolVar(&cmd.recursive, "recursive", false, "add directories with their contents")
	cmd.fs.BoolVar(&cmd.wrap, "wrap-with-directory", false, "wrap the files in a directory, which is what gets pinned")
	cmd.fs.Int("cid-version", 0, "CID version of the added content")
	cmd.fs.Bool("raw-leaves", false, "use raw blocks for file data")
	cmd.fs.String("chunker", "", "chunking algorithm, such as size-262144")
	cmd.fs.BoolVar(&cmd.noPin, "no-pin", false, "add the content without pinning it in the cluster")
	return cmd
}

func (cmd *addCommand) Run(ctx context.Context, args []string) error {
	g := cmd.g
	paths, err := cmd.parse(args, 1, -1)
	if err != nil {
		return err
	}
	if err := cmd.wait.check(g); err != nil {
		return err
	}
	dir, closeFiles, err := addDirectory(paths, cmd.recursive)
	if err != nil {
		return usageError(g, "%v", err)
	}
	defer closeFiles()
	q := cmd.pin.query()
	cmd.fs.Visit(func(f *flag.Flag) {
		for _, name := range addOptionFlags {
			if f.Name == name {
				q.Set(name, f.Value.String())
			}
		}
	})

	c, ctx, err := cmd.connect(ctx)
	if err != nil {
		return err
	}
	defer cmd.close()
	body := files.NewMultiFileReader(dir, true, false)
	var roots []string
	err = c.stream(ctx, request{
		method:      http.MethodPost,
		path:        "/add",
		query:       q,
		body:        body,
		contentType: "multipart/form-data; boundary=" + body.Boundary(),
	}, decodeEach(func(out addedOutput, raw json.RawMessage) error {
		if out.Cid == nil {
			if cmd.json {
				return printJSON(g.env.Stdout, raw)
			}
			return nil // progress
		}
		// The API pins the top-level entries, or with a wrapping directory
		// the directory alone, which comes last.
		switch {
		case cmd.wrap:
			roots = []string{*out.Cid}
		case !strings.Contains(out.Name, "/"):
			roots = append(roots, *out.Cid)
		}
		if cmd.json {
			return printJSON(g.env.Stdout, raw)
		}
		_, err := fmt.Fprintf(g.env.Stdout, "added %s %s\n", cleanCell(*out.Cid), cleanCell(out.Name))
		return err
	}))
	if err != nil || !cmd.wait.waiting() || cmd.noPin {
		return err
	}
	for _, r := range roots {
		_, raw, err := cmd.wait.waitPinned(ctx, c, g, cmd.json, r)
		if err == nil && cmd.json {
			err = printJSON(g.env.Stdout, raw)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// addDirectory is the upload: each path under its base name, in the
// order given, as Kubo's add expects it in a multipart body. closeFiles
// closes what an upload that stopped half way left open.
func addDirectory(paths []string, recursive bool) (dir files.Directory, closeFiles func(), err error) {
	var entries []files.DirEntry
	closeAll := func() {
		for _, e := range entries {
			e.Node().Close()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	seen := map[string]bool{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if st.IsDir() && !recursive {
			return nil, nil, fmt.Errorf("%s is a directory: add it with --recursive", p)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, nil, err
		}
		name := filepath.Base(abs)
		if seen[name] {
			return nil, nil, fmt.Errorf("two arguments are named %q: the API would see one", name)
		}
		seen[name] = true
		node, err := files.NewSerialFile(abs, false, st)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, files.FileEntry(name, node))
	}
	return files.NewSliceDirectory(entries), closeAll, nil
}
