package intercept

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/rs/zerolog"
)

// add?silent=true still makes Kubo print its directories (the adder's
// silent option mutes only the lines of files and symlinks) and progress
// lines. Flotilla asks the upstream without silent, to learn the CIDs of
// files it pins, and passes on only the lines Kubo would have printed.

// uploadDirs learns the directory names of a multipart add upload while the
// upstream reads it. An empty directory's line cannot be told from a file's
// by the answer alone; the upload's part types tell them apart.
type uploadDirs struct {
	pw   *io.PipeWriter
	done chan struct{}
	dirs map[string]bool
}

func newUploadDirs(contentType string, lg zerolog.Logger) *uploadDirs {
	pr, pw := io.Pipe()
	u := &uploadDirs{pw: pw, done: make(chan struct{}), dirs: map[string]bool{}}
	go func() {
		if err := u.parse(pr, contentType); err != nil {
			lg.Debug().Err(err).Msg("directory names of the upload not read")
		}
		close(u.done)
		// Keep draining so that the tee never blocks the upload.
		_, _ = io.Copy(io.Discard, pr)
	}()
	return u
}

// parse names directories as Kubo's add does (boxo's multipart files):
// the unescaped file name, cleaned, relative to the upload.
func (u *uploadDirs) parse(r io.Reader, contentType string) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return errors.New("not a multipart upload")
	}
	mr := multipart.NewReader(r, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
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
		u.dirs[strings.TrimPrefix(path.Clean("/"+name), "/")] = true
	}
}

// Tee returns body with every byte read also fed to the parser.
func (u *uploadDirs) Tee(body io.ReadCloser, contentLength int64) io.ReadCloser {
	if body == nil || body == http.NoBody || contentLength == 0 {
		u.pw.Close()
		return body
	}
	return &dirsTee{src: body, pw: u.pw}
}

// wait returns the directory names once the upload is parsed; the upstream
// has answered by then, so it has read the upload.
func (u *uploadDirs) wait(ctx context.Context) map[string]bool {
	select {
	case <-u.done:
		return u.dirs
	case <-ctx.Done():
		return nil
	}
}

type dirsTee struct {
	src io.ReadCloser
	pw  *io.PipeWriter
}

func (t *dirsTee) Read(p []byte) (int, error) {
	n, err := t.src.Read(p)
	if n > 0 {
		// The parser drains whatever happens: a failed parse must not fail
		// the upload.
		_, _ = t.pw.Write(p[:n])
	}
	if err != nil {
		t.pw.CloseWithError(err)
	}
	return n, err
}

func (t *dirsTee) Close() error {
	t.pw.Close()
	return t.src.Close()
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
