package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/flotilla-ipfs/flotilla/internal/car"
)

// dagImportEvent is one line of Kubo's dag/import output with
// pin-roots=false and stats=true, or an error object.
type dagImportEvent struct {
	Stats *struct {
		BlockCount      uint64
		BlockBytesCount uint64
	}
	Message string
	Type    string
}

// addCAR is POST /add?format=car: the CAR goes to this peer's IPFS node's
// dag/import as it arrives, unpinned, while its roots are read from the
// CAR header on the way; each root is then pinned in the cluster with the
// pin options. One AddedOutput per root answers, as ipfs-cluster's CAR
// adder does for its single root: name, cid, the bytes of the imported
// blocks, and the allocations.
func (a *API) addCAR(w http.ResponseWriter, r *http.Request, params addParams) {
	roots := car.NewRootReader(r.Header.Get("Content-Type"), a.log)
	body := roots.Tee(r.Body, r.ContentLength)
	if body == nil {
		body = http.NoBody
	}
	resp, err := a.upstreamPost(r, "dag/import", params.upstream, body)
	if err != nil {
		failUpload(w, r, err)
		return
	}
	defer resp.Body.Close()
	imported, err := readDagImport(resp)
	if err != nil {
		failUpload(w, r, err)
		return
	}
	cids, err := roots.Wait(r.Context())
	switch {
	case err != nil:
		fail(w, errBadRequest(fmt.Sprintf("reading the CAR roots: %v", err)))
		return
	case len(cids) == 0:
		fail(w, errBadRequest("the CAR has no root to pin"))
		return
	}

	w.Header().Set("Cache-Control", "no-cache")
	out := newAddOutput(w, params.streamChannels)
	name := roots.FileName()
	var perr error
	for _, c := range cids {
		s := c.String()
		line := addedOutput{Name: name, Cid: &s, Bytes: imported}
		if !params.noPin {
			p := params.pin
			p.Cid = c
			if p.Name == "" {
				p.Name = name
			}
			pinned, err := a.cluster.Pin(r.Context(), p)
			if err != nil {
				perr = fmt.Errorf("pinning %s: %w", c, err)
				break
			}
			line.Allocations = pinned.Allocations
		}
		if perr = out.emit(line); perr != nil {
			break
		}
	}
	out.finish(perr)
}

// readDagImport reads Kubo's dag/import answer to its end and returns the
// bytes of the imported blocks, or the import's error.
func readDagImport(resp *http.Response) (uint64, error) {
	dec := json.NewDecoder(resp.Body)
	var imported uint64
	for {
		var ev dagImportEvent
		if err := dec.Decode(&ev); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return 0, fmt.Errorf("reading the IPFS node's dag/import output: %w", err)
		}
		if ev.Type == "error" || ev.Message != "" {
			return 0, fmt.Errorf("the IPFS node refused the CAR: %s", ev.Message)
		}
		if ev.Stats != nil {
			imported = ev.Stats.BlockBytesCount
		}
	}
	if msg := resp.Trailer.Get("X-Stream-Error"); msg != "" {
		return 0, fmt.Errorf("the IPFS node refused the CAR: %s", msg)
	}
	return imported, nil
}
