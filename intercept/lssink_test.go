package intercept

import (
	"encoding/json"
	"strings"
	"testing"
)

// kuboPinLsType is Kubo's PinLsType, the value of its Keys map.
type kuboPinLsType struct {
	Type string
	Name string
}

func encodeJSON(t *testing.T, v any) string {
	t.Helper()
	var sb strings.Builder
	if err := json.NewEncoder(&sb).Encode(v); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// The listing writes its lines by hand; they must be the bytes Kubo's
// encoding/json writes, names with quotes, HTML and bad UTF-8 included.
func TestPinLsLinesAreWhatKuboEncodes(t *testing.T) {
	cidStr := testCid(1).String()
	for _, obj := range []pinLsObject{
		{Cid: cidStr, Type: "recursive"},
		{Cid: cidStr, Type: "direct", Name: "plain"},
		{Cid: cidStr, Type: "recursive", Name: `a "quoted" <b>&</b> name\` + "\n\t\x01\xff\u2028"},
		{Cid: cidStr, Type: "indirect through " + cidStr},
		{},
	} {
		if got, want := string(appendPinLsLine(nil, obj)), encodeJSON(t, obj); got != want {
			t.Errorf("stream line\n got %s\nwant %s", got, want)
		}
		var keys strings.Builder
		keys.WriteString(`{"Keys":{`)
		keys.Write(appendPinLsKey(nil, obj))
		keys.WriteString("}}\n")
		want := encodeJSON(t, map[string]map[string]kuboPinLsType{"Keys": {obj.Cid: {Type: obj.Type, Name: obj.Name}}})
		if keys.String() != want {
			t.Errorf("Keys entry\n got %s\nwant %s", keys.String(), want)
		}
	}
}
