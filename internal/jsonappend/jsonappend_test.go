package jsonappend

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func marshal(t testing.TB, v any) string {
	t.Helper()
	// json.Encoder, as the listings use it: HTML-escaped, with a newline.
	var sb strings.Builder
	if err := json.NewEncoder(&sb).Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

var tricky = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rret",
	"\b\f\x00\x01\x1f\x7f", "héllo wörld ✓ 🚀", "\u2028 and \u2029", "bad \xff utf8 \xc3", "\xed\xa0\x80",
	"ends in a partial rune \xe2\x82", strings.Repeat("long/", 100),
}

func TestStringIsWhatEncodingJSONWrites(t *testing.T) {
	for _, s := range tricky {
		if got, want := string(String(nil, s)), marshal(t, s); got != want {
			t.Errorf("String(%q) = %s, encoding/json writes %s", s, got, want)
		}
	}
}

func TestStringsIsWhatEncodingJSONWrites(t *testing.T) {
	for _, ss := range [][]string{nil, {}, {"a"}, tricky} {
		if got, want := string(Strings(nil, ss)), marshal(t, ss); got != want {
			t.Errorf("Strings(%q) = %s, encoding/json writes %s", ss, got, want)
		}
	}
}

func TestTimeIsWhatEncodingJSONWrites(t *testing.T) {
	zone := time.FixedZone("east", 5*3600+30*60)
	for _, tm := range []time.Time{
		{}, time.Unix(1700000000, 0).UTC(), time.Unix(1700000000, 120000000).UTC(),
		time.Unix(1700000000, 123456789).UTC(), time.Unix(1700000000, 5).In(zone), time.Now(),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	} {
		got, err := Time(nil, tm)
		if err != nil {
			t.Fatalf("Time(%v): %v", tm, err)
		}
		if want := marshal(t, tm); string(got) != want {
			t.Errorf("Time(%v) = %s, encoding/json writes %s", tm, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		tm := time.Unix(rng.Int64N(253402300799), 0).UTC()
		switch rng.IntN(3) {
		case 0:
			tm = tm.Add(time.Duration(rng.IntN(1e9)))
		case 1:
			tm = tm.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
		}
		got, _ := Time(nil, tm)
		if want := marshal(t, tm); string(got) != want {
			t.Fatalf("Time(%v) = %s, encoding/json writes %s", tm, got, want)
		}
	}
	if _, err := Time(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("year 10000: no error, but encoding/json refuses it")
	}
}

func FuzzString(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(String(nil, s)), marshal(t, s); got != want {
			t.Fatalf("String(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}
