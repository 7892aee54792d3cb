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
