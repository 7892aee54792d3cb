package storage

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// An error names the line of the input, blank lines and pins spread over
// several lines (jq's output) counted, rather than the pin's number.
func TestDecodeExportNamesTheLine(t *testing.T) {
	good, err := fullPin(1).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	pretty := strings.ReplaceAll(string(good), ",", ",\n")
	for name, tc := range map[string]struct {
		input string
		line  int
		says  string
	}{
		"bad cid":            {fmt.Sprintf("%s\n\n%s\n{\"cid\":\"foo\"}\n%s\n", good, good, good), 4, `invalid cid "foo"`},
		"bad cid first":      {"{\"cid\":\"foo\"}\n" + string(good), 1, `invalid cid "foo"`},
		"after a multi-line": {pretty + "\n{\"cid\":\"foo\"}\n", strings.Count(pretty, "\n") + 2, "invalid cid"},
		"syntax":             {fmt.Sprintf("%s\n%s\n{\"cid\" x}\n", good, good), 3, "invalid character 'x'"},
		"stray brace":        {fmt.Sprintf("%s\n}\n%s\n", good, good), 2, "invalid character '}'"},
		"wrong type":         {fmt.Sprintf("%s\n{\"cid\":1}\n", good), 2, "cannot unmarshal number"},
		"cut short":          {fmt.Sprintf("%s\n\n{\"cid\":\n", good), 3, "unexpected EOF"},
		"name over 255":      {fmt.Sprintf("%s\n%s\n", good, strings.Replace(string(good), `"name":"`, `"name":"`+strings.Repeat("n", 256), 1)), 2, "pin name is "},
		"refused by fn":      {fmt.Sprintf("\n\n%s\n", strings.Replace(string(good), `"type":"pin"`, `"type":"shard-pin"`, 1)), 3, "no shards"},
	} {
		t.Run(name, func(t *testing.T) {
			err := DecodeExport(strings.NewReader(tc.input), func(_ Pin, typ string) error {
				if typ != "pin" {
					return errors.New("no shards")
				}
				return nil
			})
			var ie *InputError
			if !errors.As(err, &ie) || ie.Line != tc.line || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err %v, want line %d saying %q", err, tc.line, tc.says)
			}
			if want := fmt.Sprintf("line %d: ", tc.line); !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err %q does not start with %q", err, want)
			}
		})
	}
}

// A name no API takes (over 255 characters) is refused; one the Pinning
// Service API took, 255 characters of several bytes each, imports again.
func TestDecodeExportBoundsPinNames(t *testing.T) {
	line := func(name string) string {
		p := fullPin(1)
		p.Name = name
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	var got []string
	keep := func(p Pin, _ string) error { got = append(got, p.Name); return nil }
	wide := strings.Repeat("é", MaxPinName)
	if err := DecodeExport(strings.NewReader(line(wide)), keep); err != nil || len(got) != 1 || got[0] != wide {
		t.Fatalf("a name of 255 two-byte characters: err %v, names %q", err, got)
	}
	err := DecodeExport(strings.NewReader(line("a")+line(strings.Repeat("x", 256))), keep)
	if want := "line 2: pin name is 256 characters (max 255: no API of Flotilla takes a longer one)"; err == nil || err.Error() != want {
		t.Fatalf("err %v, want %q", err, want)
	}
}
