package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLoad loads any file content with one override variable (chosen among
// the documented ones by key) and one raw environment entry. Nothing may
// panic, every error is a *Error that says where the bad value came from,
// and a config that loads saves to a file that loads back to it.
func FuzzLoad(f *testing.F) {
	keys := EnvKeys()
	secret := strings.Repeat("ab", 32)
	valid := `{"cluster":{"secret":"` + secret + `"}}`
	for _, s := range []struct {
		file, key, val, env string
	}{
		{valid, "FLOTILLA_API_LISTEN", "127.0.0.1:1", ""},
		{`{"cluster":{"secret":"` + secret + `","tags":{"a":"b"},"allocate_by":["tag:a"],"repin_delay":"1m30s"},"raft":{"voters":3},"proxy":{"authorizations":{"ci":{"auth_secret":"bearer:t","allowed_paths":["/api/v0"]}}}}`,
			"FLOTILLA_CLUSTER_PEERNAME", "x", "FLOTILLA_RAFT_VOTERS=2"},
		{valid, "FLOTILLA_CLUSTER_TAGS", "region=eu, rack=r1", "FLOTILLA_CLUSTER_ALLOCATE_BY=a,,b"},
		{valid, "FLOTILLA_PROXY_AUTHORIZATIONS", `{"ci":{"auth_secret":"t"}}`, "FLOTILLA_API_BASIC_AUTH_CREDENTIALS=a=b,=c"},
		{valid, "FLOTILLA_HEALTH_HEARTBEAT_INTERVAL", "-1s", "FLOTILLA_HEALTH_HEARTBEAT_TTL=1ns"},
		{valid, "FLOTILLA_CLUSTER_LEAVE_ON_SHUTDOWN", "maybe", "=no key"},
		{`{"cluster":null,"api":{"listen":null}}`, "FLOTILLA_CLUSTER_SECRET", secret, "FLOTILLA_PROXY_AUTHORIZATIONS={"},
		{`{"proxxy":{}}`, "FLOTILLA_IPFS_CONCURRENT_PINS", " 12 ", "FLOTILLA_IPFS_CONCURRENT_PINS=1e3"},
		{`{"cluster":[]}`, "FLOTILLA_CLUSTER_PEERNAME", "\xff", "FLOTILLA_CLUSTER_PEERNAME={x}"},
		{`null`, "FLOTILLA_RAFT_VOTERS", "0", ""},
		{``, "FLOTILLA_PINSVC_TOKENS", "", ""},
	} {
		i := slices.Index(keys, s.key)
		if i < 0 {
			f.Fatalf("no variable %s", s.key)
		}
		f.Add([]byte(s.file), uint8(i), s.val, s.env)
	}
	f.Fuzz(func(t *testing.T, file []byte, key uint8, val, env string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "service.json")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		environ := []string{keys[int(key)%len(keys)] + "=" + val, env}
		cfg, err := Load(path, environ)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *config.Error", err, err)
			}
			if ce.Source == "" {
				t.Fatalf("error %v does not say where the value came from", err)
			}
			return
		}
		// JSON holds only valid UTF-8, which a raw environment value may not be.
		if !utf8.ValidString(val) || !utf8.ValidString(env) {
			return
		}
		saved := filepath.Join(dir, "saved.json")
		if err := Save(saved, cfg); err != nil {
			t.Fatalf("save: %v", err)
		}
		again, err := Load(saved, nil)
		if err != nil {
			t.Fatalf("a loaded config does not load once saved: %v", err)
		}
		if !reflect.DeepEqual(again, cfg) {
			t.Fatalf("config changed through save and load:\n got %+v\nwant %+v", again, cfg)
		}
	})
}
