package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/types"
)

// addedOutput is ipfs-cluster's AddedOutput. cid is null on progress lines.
type addedOutput struct {
	Name        string   `json:"name"`
	Cid         *string  `json:"cid"`
	Bytes       uint64   `json:"bytes,omitempty"`
	Size        uint64   `json:"size,omitempty"`
	Allocations []string `json:"allocations,omitempty"`
}

// kuboAddEvent is one line of Kubo's add output (Size is a decimal
// string), or an error object.
type kuboAddEvent struct {
	Name    string
	Hash    string
	Bytes   int64
	Size    string
	Message string
	Type    string
}

// add is POST /add: the upload goes to this peer's IPFS node unpinned,
// and each top-level entry (or the wrapping directory) is then pinned in
// the cluster with the pin options. Entries stream back as Kubo reports
// them; the pinned ones carry their allocations.
func (a *API) add(w http.ResponseWriter, r *http.Request) {
	if a.cfg.ReadOnly {
		fail(w, types.ErrReadOnlyFollower)
		return
	}
	if a.cfg.UpstreamURL == nil {
		writeError(w, http.StatusNotImplemented, errors.New("no IPFS node is configured to add content to"))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || !strings.HasPrefix(mt, "multipart/") {
		fail(w, errBadRequest("request Content-Type isn't multipart/form-data"))
		return
	}
	params, err := addParamsFromQuery(r.URL.Query(), a.cfg.Now())
	if err != nil {
		fail(w, err)
		return
	}
	// Kubo answers while the upload still arrives; without full duplex Go
	// would discard the rest of the request body under it.
	_ = http.NewResponseController(w).EnableFullDuplex()
	if params.car {
		a.addCAR(w, r, params)
		return
	}

	resp, err := a.upstreamPost(r, "add", params.upstream, r.Body)
	if err != nil {
		failUpload(w, r, err)
		return
	}
	defer resp.Body.Close()

	w.Header().Set("Cache-Control", "no-cache")
	out := newAddOutput(w, params.streamChannels)
	err = a.relayAdd(r.Context(), resp, params, out.emit)
	out.finish(err)
}

// failUpload answers an upload's failure, unless the request's context
// ended: its client went away, or its body came too slowly and was cut,
// which the listener answers with the reason (internal/slowclient) where
// this would only say "context canceled".
func failUpload(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	fail(w, err)
}

// upstreamPost sends the upload (body, r's Content-Type) to the IPFS
// node's command cmd with query q, and returns its answer when it is 200.
func (a *API) upstreamPost(r *http.Request, cmd string, q url.Values, body io.ReadCloser) (*http.Response, error) {
	u := *a.cfg.UpstreamURL
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v0/" + cmd
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = r.ContentLength
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	resp, err := a.cfg.Transport.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("%s on the IPFS node: %w", cmd, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(answer))
	var kerr kuboAddEvent
	if json.Unmarshal(answer, &kerr) == nil && kerr.Message != "" {
		msg = kerr.Message
	}
	err = fmt.Errorf("the IPFS node refused the %s (%s): %s", cmd, resp.Status, msg)
	if resp.StatusCode == http.StatusBadRequest {
		return nil, errBadRequest(err.Error())
	}
	return nil, err
}

// relayAdd reads Kubo's events and emits AddedOutput. Without
// wrap-with-directory, entries whose name has no "/" are the top-level
// ones and are pinned as they come. With it, only the last entry, the
// wrapping directory, is pinned, so each entry is held back until the next
// one shows it was not the last.
func (a *API) relayAdd(ctx context.Context, resp *http.Response, params addParams, emit func(addedOutput) error) error {
	dec := json.NewDecoder(resp.Body)
	var held *kuboAddEvent
	for {
		var ev kuboAddEvent
		if err := dec.Decode(&ev); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("reading the IPFS node's add output: %w", err)
		}
		switch {
		case ev.Type == "error" || (ev.Hash == "" && ev.Message != ""):
			return errors.New(ev.Message)
		case ev.Hash == "":
			if err := emit(addedOutput{Name: ev.Name, Bytes: uint64(max(ev.Bytes, 0))}); err != nil {
				return err
			}
		case params.wrap:
			if held != nil {
				if err := a.emitEntry(ctx, *held, params, false, emit); err != nil {
					return err
				}
			}
			held = &ev
		default:
			if err := a.emitEntry(ctx, ev, params, !strings.Contains(ev.Name, "/"), emit); err != nil {
				return err
			}
		}
	}
	if msg := resp.Trailer.Get("X-Stream-Error"); msg != "" {
		return errors.New(msg)
	}
	if held != nil {
		return a.emitEntry(ctx, *held, params, true, emit)
	}
	return nil
}

// emitEntry pins the entry in the cluster when it is a root, then emits it.
func (a *API) emitEntry(ctx context.Context, ev kuboAddEvent, params addParams, root bool, emit func(addedOutput) error) error {
	c, err := cid.Decode(ev.Hash)
	if err != nil {
		return fmt.Errorf("the IPFS node answered an invalid CID %q: %w", ev.Hash, err)
	}
	size, _ := strconv.ParseUint(ev.Size, 10, 64)
	s := c.String()
	out := addedOutput{Name: ev.Name, Cid: &s, Size: size}
	if root && !params.noPin {
		p := params.pin
		p.Cid = c
		if p.Name == "" {
			p.Name = ev.Name
		}
		pinned, err := a.cluster.Pin(ctx, p)
		if err != nil {
			return fmt.Errorf("pinning %s: %w", c, err)
		}
		out.Allocations = pinned.Allocations
	}
	return emit(out)
}

// addOutput writes AddedOutput as ndjson with ipfs-cluster's streaming
// headers, or with stream-channels=false as one JSON array at the end.
type addOutput struct {
	w      http.ResponseWriter
	s      *stream
	buffer []addedOutput
}

func newAddOutput(w http.ResponseWriter, streaming bool) *addOutput {
	o := &addOutput{w: w}
	if streaming {
		w.Header().Set("X-Chunked-Output", "1")
		o.s = newStream(w)
	}
	return o
}

func (o *addOutput) emit(v addedOutput) error {
	if o.s != nil {
		return o.s.send(v)
	}
	o.buffer = append(o.buffer, v)
	return nil
}

func (o *addOutput) finish(err error) {
	switch {
	case o.s != nil:
		o.s.finish(err)
	case err != nil:
		fail(o.w, err)
	default:
		writeJSON(o.w, http.StatusOK, nonNil(o.buffer))
	}
}
