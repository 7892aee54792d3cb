package intercept

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"path"
	"strings"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/bodytee"
)

// add?silent=true still makes Kubo print its directories (the adder's
// silent option mutes only the lines of files and symlinks) and progress
// lines. Flotilla asks the upstream without silent, to learn the CIDs of
// files it pins, and passes on only the lines Kubo would have printed.

// uploadDirs learns the directory names of a multipart add upload while the
// upstream reads it. An empty directory's line cannot be told from a file's
// by the answer alone; the upload's part types tell them apart.
type uploadDirs struct {
	parser *bodytee.Parser[map[string]bool]
}

func newUploadDirs(contentType string, lg zerolog.Logger) *uploadDirs {
	return &uploadDirs{parser: bodytee.Start(func(r io.Reader) (map[string]bool, error) {
		dirs, err := parseUploadDirs(r, contentType)
		if err != nil {
			lg.Debug().Err(err).Msg("directory names of the upload not read")
		}
		return dirs, nil
	})}
}

// parse names directories as Kubo's add does (boxo's multipart files):
// the unescaped file name, cleaned, relative to the upload.
func parseUploadDirs(r io.Reader, contentType string) (map[string]bool, error) {
	dirs := map[string]bool{}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return dirs, errors.New("not a multipart upload")
	}
	mr := multipart.NewReader(r, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return dirs, nil
		}
		if err != nil {
			return dirs, err
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if ct != "application/x-directory" && ct != "multipart/form-data" {
			continue
		}
		_, disp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		name := disp["filename"]
		if unescaped, err := url.QueryUnescape(name); err == nil {
			name = unescaped
		}
		dirs[strings.TrimPrefix(path.Clean("/"+name), "/")] = true
	}
}

// Tee returns body with every byte read also fed to the parser.
func (u *uploadDirs) Tee(body io.ReadCloser, contentLength int64) io.ReadCloser {
	return u.parser.Tee(body, contentLength)
}

// wait returns the directory names once the upload is parsed (nil if ctx
// ends first); the upstream has answered by then, so it has read the
// upload.
func (u *uploadDirs) wait(ctx context.Context) map[string]bool {
	dirs, _ := u.parser.Wait(ctx)
	return dirs
}

// silentLines keeps, in order, the lines of a non-silent add answer that a
// silent add prints: progress lines, and the lines of directories (those
// named in the upload, those holding another entry, and -w's wrapper).
func silentLines(lines [][]byte, dirs map[string]bool, wrap bool) []byte {
	type event struct{ Name, Hash string }
	events := make([]event, len(lines))
	holding := map[string]bool{}
	for i, l := range lines {
		if json.Unmarshal(l, &events[i]) != nil || events[i].Hash == "" {
			continue
		}
		for d := path.Dir(events[i].Name); d != "." && d != "/"; d = path.Dir(d) {
			holding[d] = true
		}
	}
	var out []byte
	for i, ev := range events {
		isDir := holding[ev.Name] || dirs[ev.Name] || (wrap && ev.Name == "")
		if ev.Hash == "" || isDir {
			out = append(out, lines[i]...)
		}
	}
	return out
}
