package fakekubo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multicodec"
	"github.com/multiformats/go-multihash"
)

var (
	addOpts = []option{
		boolOpt(nil, "quiet", "q"),
		boolOpt(nil, "quieter", "Q"),
		boolOpt(nil, "silent"),
		boolOpt(nil, "progress", "p"),
		boolOpt(nil, "only-hash", "n"),
		boolOpt(nil, "wrap-with-directory", "w"),
		boolOpt(true, "pin"),
		strOpt(nil, "pin-name"),
		boolOpt(nil, "raw-leaves"),
		intOpt(nil, "cid-version"),
		strOpt(nil, "hash"),
		strOpt(nil, "chunker", "s"),
	}
	blockPutOpts = []option{
		strOpt(nil, "cid-codec"),
		strOpt("sha2-256", "mhtype"),
		intOpt(int64(-1), "mhlen"),
		boolOpt(false, "pin"),
		boolOpt(false, "allow-big-block"),
		strOpt(nil, "format", "f"),
	}
	dagPutOpts = []option{
		strOpt("dag-cbor", "store-codec"),
		strOpt("dag-json", "input-codec"),
		boolOpt(nil, "pin"),
		strOpt("sha2-256", "hash"),
		boolOpt(false, "allow-big-block"),
	}
	catOpts = []option{
		intOpt(nil, "offset", "o"),
		intOpt(nil, "length", "l"),
		boolOpt(nil, "progress", "p"),
	}
)

const softBlockLimit = 2 << 20

var errBigBlock = errors.New("produced block is over 2MiB: big blocks can't be exchanged with other peers. consider using UnixFS for automatic chunking of bigger files, or pass --allow-big-block to override")

// addEvent is kubo's AddEvent; Size is a decimal string on the wire.
type addEvent struct {
	Name  string
	Hash  string `json:",omitempty"`
	Bytes int64  `json:",omitempty"`
	Size  string `json:",omitempty"`
}

// entry is one file or directory of an `add` request.
type entry struct {
	name     string
	c        cid.Cid
	data     []byte
	size     uint64
	children []*entry
	isDir    bool
}

// fileCid is the fake's stand-in for UnixFS import: CIDv0 of the bytes'
// sha256, or with cid-version=1 the raw-leaf CIDv1 Kubo gives a one-chunk file.
func fileCid(data []byte, version int64) cid.Cid {
	mh, _ := multihash.Sum(data, multihash.SHA2_256, -1)
	if version == 1 {
		return cid.NewCidV1(cid.Raw, mh)
	}
	return cid.NewCidV0(mh)
}

// dirCid derives a directory CID from its entries, so that equal trees get
// equal CIDs.
func dirCid(children []*entry, version int64) cid.Cid {
	var b strings.Builder
	b.WriteString("fakekubo-dir\n")
	for _, e := range children {
		fmt.Fprintf(&b, "%s %s\n", path.Base(e.name), e.c)
	}
	mh, _ := multihash.Sum([]byte(b.String()), multihash.SHA2_256, -1)
	if version == 1 {
		return cid.NewCidV1(cid.DagProtobuf, mh)
	}
	return cid.NewCidV0(mh)
}

// readEntry reads a whole node before anything is written: answering while
// the request body is still arriving is what corrupts uploads through Go
// proxies, and a fake must not trigger that.
func readEntry(name string, n files.Node, version int64) (*entry, error) {
	switch n := n.(type) {
	case files.Directory:
		e := &entry{name: name, isDir: true}
		it := n.Entries()
		for it.Next() {
			child, err := readEntry(path.Join(name, it.Name()), it.Node(), version)
			if err != nil {
				return nil, err
			}
			e.children = append(e.children, child)
			e.size += child.size
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		slices.SortFunc(e.children, func(a, b *entry) int { return strings.Compare(a.name, b.name) })
		e.c = dirCid(e.children, version)
		return e, nil
	case files.File:
		data, err := io.ReadAll(n)
		if err != nil {
			return nil, err
		}
		return &entry{name: name, c: fileCid(data, version), data: data, size: uint64(len(data))}, nil
	}
	return nil, fmt.Errorf("unsupported file type %T", n)
}

// multipartEntries parses the request body with boxo's parser, the one Kubo
// uses, so that names, directories and abspath headers are read the same way.
func (c *call) multipartEntries(version int64) ([]*entry, error) {
	mr, err := c.r.MultipartReader()
	if err != nil {
		return nil, err
	}
	dir, err := files.NewFileFromPartReader(mr, "multipart/form-data")
	if err != nil {
		return nil, err
	}
	var out []*entry
	it := dir.Entries()
	for it.Next() {
		e, err := readEntry(it.Name(), it.Node(), version)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, it.Err()
}

func runAdd(c *call) error {
	version := c.num("cid-version")
	roots, err := c.multipartEntries(version)
	if err != nil {
		return err
	}
	if c.flag("wrap-with-directory") {
		w := &entry{isDir: true, children: roots}
		for _, r := range roots {
			w.size += r.size
		}
		w.c = dirCid(roots, version)
		roots = []*entry{w}
	}
	if !c.flag("only-hash") {
		c.f.mu.Lock()
		for _, r := range roots {
			c.f.storeEntryLocked(r)
		}
		c.f.mu.Unlock()
	}
	for _, r := range roots {
		if err := c.emitEntry(r); err != nil {
			return err
		}
	}
	if c.flag("pin") && !c.flag("only-hash") {
		c.f.mu.Lock()
		for _, r := range roots {
			c.f.pins[r.c] = pinInfo{mode: Recursive, name: c.str("pin-name")}
		}
		c.f.mu.Unlock()
	}
	return nil
}

func (f *Fake) storeEntryLocked(e *entry) {
	f.putLocked(e.c, e.data, e.isDir)
	if e.isDir {
		kids := make([]cid.Cid, len(e.children))
		for i, ch := range e.children {
			f.storeEntryLocked(ch)
			kids[i] = ch.c
		}
		f.links[string(e.c.Hash())] = kids
	}
}

// emitEntry writes a directory's contents before the directory itself, so the
// last line is the root, which is what clients take as the result.
func (c *call) emitEntry(e *entry) error {
	for _, ch := range e.children {
		if err := c.emitEntry(ch); err != nil {
			return err
		}
	}
	name := e.name
	if name == "" && !e.isDir {
		name = c.enc(e.c) // a nameless file (stdin, client/rpc) is named by its CID
	}
	if c.flag("progress") && !e.isDir {
		if err := c.em.emit(addEvent{Name: name, Bytes: int64(e.size)}); err != nil {
			return err
		}
	}
	return c.em.emit(addEvent{Name: name, Hash: c.enc(e.c), Size: strconv.FormatUint(e.size, 10)})
}

// blockPrefix is kubo's block/put CID choice: --format for legacy callers,
// otherwise --cid-codec (default raw) as CIDv1.
func (c *call) blockPrefix() (version int, codec uint64, err error) {
	format, codecName := c.str("format"), c.str("cid-codec")
	if format != "" && codecName != "" {
		return 0, 0, errors.New(`unable to use "format" (deprecated) and a custom "cid-codec" at the same time`)
	}
	switch format {
	case "":
	case "v0", "protobuf":
		return 0, cid.DagProtobuf, nil
	case "cbor":
		return 1, cid.DagCBOR, nil
	default:
		codecName = format
	}
	if codecName == "" {
		codecName = "raw"
	}
	var mc multicodec.Code
	if err := mc.Set(codecName); err != nil {
		return 0, 0, fmt.Errorf("unrecognized codec: %s", codecName)
	}
	return 1, uint64(mc), nil
}

func hashBlock(data []byte, hashName string, length int64) (multihash.Multihash, error) {
	code, ok := multihash.Names[hashName]
	if !ok {
		return nil, fmt.Errorf("unrecognized multihash function: %s", hashName)
	}
	return multihash.Sum(data, code, int(length))
}

func runBlockPut(c *call) error {
	version, codec, err := c.blockPrefix()
	if err != nil {
		return err
	}
	blocks, err := c.multipartEntries(0)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		if b.isDir {
			return errors.New("expected a file argument, got a directory")
		}
		if len(b.data) > softBlockLimit && !c.flag("allow-big-block") {
			return errBigBlock
		}
		mh, err := hashBlock(b.data, c.str("mhtype"), c.num("mhlen"))
		if err != nil {
			return err
		}
		ci := cid.NewCidV1(codec, mh)
		if version == 0 {
			ci = cid.NewCidV0(mh)
		}
		c.f.mu.Lock()
		c.f.putLocked(ci, b.data, false)
		if c.flag("pin") {
			c.f.pins[ci] = pinInfo{mode: Recursive}
		}
		c.f.mu.Unlock()
		if err := c.em.emit(struct {
			Key  string
			Size int
		}{c.enc(ci), len(b.data)}); err != nil {
			return err
		}
	}
	return nil
}

func runDagPut(c *call) error {
	var mc multicodec.Code
	if err := mc.Set(c.str("store-codec")); err != nil {
		return fmt.Errorf("unknown store-codec %q", c.str("store-codec"))
	}
	objs, err := c.multipartEntries(0)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if len(o.data) > softBlockLimit && !c.flag("allow-big-block") {
			return errBigBlock
		}
		mh, err := hashBlock(o.data, c.str("hash"), -1)
		if err != nil {
			return err
		}
		ci := cid.NewCidV1(uint64(mc), mh)
		c.f.mu.Lock()
		c.f.putLocked(ci, o.data, false)
		if c.flag("pin") {
			c.f.pins[ci] = pinInfo{mode: Recursive}
		}
		c.f.mu.Unlock()
		if err := c.em.emit(dagLinkOutput{Cid: cidLink{c.enc(ci)}}); err != nil {
			return err
		}
	}
	return nil
}

// cidLink is an IPLD link in dag-json form: {"/":"bafy..."}.
type cidLink struct {
	Link string `json:"/"`
}

type dagLinkOutput struct{ Cid cidLink }

// content waits for each argument and concatenates what cat would print.
func (c *call) content() ([]byte, error) {
	var buf bytes.Buffer
	for _, arg := range c.args {
		ci, err := c.f.resolveArg(arg)
		if err != nil {
			return nil, err
		}
		b, err := c.f.waitBlock(c.ctx, ci)
		if err != nil {
			return nil, err
		}
		switch {
		case b.isDir:
			return nil, errors.New("this dag node is a directory")
		case b.data == nil:
			return nil, fmt.Errorf("fakekubo: %s was made available without content (AddBlock); use AddData", ci)
		}
		buf.Write(b.data)
	}
	return buf.Bytes(), nil
}

func runCat(c *call) error {
	data, err := c.content()
	if err != nil {
		return err
	}
	off := min(max(c.num("offset"), 0), int64(len(data)))
	data = data[off:]
	if c.isSet("length") {
		data = data[:min(max(c.num("length"), 0), int64(len(data)))]
	}
	return c.em.stream(bytes.NewReader(data), int64(len(data)), "")
}

func runBlockGet(c *call) error {
	p, err := pathOrCidPath(c.args[0])
	if err != nil {
		return err
	}
	ci, err := c.f.resolveArg(p.String())
	if err != nil {
		return err
	}
	b, err := c.f.waitBlock(c.ctx, ci)
	if err != nil {
		return err
	}
	return c.em.stream(bytes.NewReader(b.data), -1, "application/vnd.ipld.raw")
}
