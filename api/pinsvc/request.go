package pinsvc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// The spec's limits on a Pin.
const (
	maxName    = storage.MaxPinName // characters, as the spec counts
	maxMeta    = 1000
	maxOrigins = 20
)

// pinBody is the spec's Pin as a client sends it.
type pinBody struct {
	Cid     *string           `json:"cid"`
	Name    string            `json:"name"`
	Origins []string          `json:"origins"`
	Meta    map[string]string `json:"meta"`
}

// decodePin reads a Pin body into a recursive cluster pin, and returns the
// cid as the client spelled it, which the answer echoes. It is strict
// about the shape (a typo'd field would otherwise be silently dropped) and
// lenient about origins, which are only hints: Kubo sends every address it
// has, often more than the spec's 20 and some unusable, so the extra ones are
// dropped rather than refused.
func decodePin(w http.ResponseWriter, r *http.Request) (storage.Pin, string, error) {
	if err := requireJSON(r); err != nil {
		return storage.Pin{}, "", err
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	var b pinBody
	if err := dec.Decode(&b); err != nil {
		return storage.Pin{}, "", bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return storage.Pin{}, "", err
		}
		return storage.Pin{}, "", errBadRequest("unexpected data after the Pin object")
	}
	if b.Cid == nil || *b.Cid == "" {
		return storage.Pin{}, "", errBadRequest(`"cid" is required`)
	}
	c, err := cid.Decode(*b.Cid)
	if err != nil {
		return storage.Pin{}, "", errBadRequest(fmt.Sprintf("invalid cid %s: %v", quote(*b.Cid), err))
	}
	if n := utf8.RuneCountInString(b.Name); n > maxName {
		return storage.Pin{}, "", errBadRequest(fmt.Sprintf("name is %d characters long, more than the %d allowed", n, maxName))
	}
	if len(b.Meta) > maxMeta {
		return storage.Pin{}, "", errBadRequest(fmt.Sprintf("meta has %d entries, more than the %d allowed", len(b.Meta), maxMeta))
	}
	p := storage.Pin{Cid: c, Name: b.Name, Mode: storage.Recursive, Origins: p2pAddrs(b.Origins, maxOrigins)}
	if len(b.Meta) > 0 {
		p.Metadata = b.Meta
	}
	return p, *b.Cid, nil
}

// requireJSON refuses a Pin body that is not labelled application/json.
// The spec's clients (Kubo's among them) always label it, while the types a
// web page may POST anywhere without asking first (text/plain, forms) are
// exactly the others: with no tokens configured, a page could otherwise
// replace or unpin a pin with a form.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/json" {
		return nil
	}
	got := "none"
	if ct != "" {
		got = quote(ct)
	}
	return errMediaType("a Pin body must be sent with Content-Type: application/json; this request had " + got)
}

// bodyError explains a JSON decoding failure in the client's terms.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errBodyCut
	case errors.Is(err, io.EOF):
		return errBadRequest("empty body: a Pin object is required")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return errBadRequest("malformed JSON body: " + err.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errBadRequest("the body must be a JSON object (a Pin), not " + typ.Value)
		}
		field, _, _ := strings.Cut(typ.Field, ".")
		return errBadRequest(fmt.Sprintf("%s must be %s, got a %s", field, shapes[field], typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return errBadRequest("unknown field " + field + ": a Pin has only cid, name, origins and meta")
	}
	return errBadRequest("invalid body: " + err.Error())
}

// shapes describes each field of a Pin: a type error deep inside meta or
// origins is reported against the field as a whole.
var shapes = map[string]string{
	"cid":     "a string",
	"name":    "a string",
	"origins": "an array of strings",
	"meta":    "an object whose values are strings",
}
