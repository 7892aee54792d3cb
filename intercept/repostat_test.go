package intercept

import (
	"testing"

	"github.com/flotilla-ipfs/flotilla/types"
)

func TestRepoStatSumsThePeersInKubosShape(t *testing.T) {
	c := newFakeCluster()
	c.SetRepoStat(types.RepoStat{RepoSize: 3000, StorageMax: 30000, NumObjects: 12})
	h := newTestHandlers(t, c, nil, "", true)

	res := post(t, h, "/api/v0/repo/stat", nil)
	if got, want := readBody(t, res), `{"RepoSize":3000,"StorageMax":30000,"NumObjects":12,"RepoPath":"","Version":""}`+"\n"; got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	res = post(t, h, "/api/v0/repo/stat?size-only=true", nil)
	if got := readBody(t, res); got != `{"RepoSize":3000,"StorageMax":30000,"NumObjects":0,"RepoPath":"","Version":""}`+"\n" {
		t.Fatalf("size-only body %q", got)
	}
	res = post(t, h, "/api/v0/repo/stat?encoding=text", nil)
	if got := readBody(t, res); got != "NumObjects: 12\nRepoSize:   3000\nStorageMax: 30000\n" {
		t.Fatalf("text body %q", got)
	}
}
