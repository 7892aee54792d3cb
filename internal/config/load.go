package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/flotilla-ipfs/flotilla/internal/durable"
)

// EnvPrefix starts every override variable: FLOTILLA_<SECTION>_<KEY>.
const EnvPrefix = "FLOTILLA_"

// Error names the key and where its bad value came from, so that an operator
// can fix a config from the one line the daemon prints.
type Error struct {
	Source string // the file, or the environment variable
	Key    string // section.key
	// OrKey is another key whose value may be the wrong one, when only the
	// two together are: Load blames it instead of Key when the environment
	// set it and not Key, since the operator then changed it last.
	OrKey string
	Err   error
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %v", e.Source, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", e.Source, e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads path over the defaults, applies environment overrides from
// environ (KEY=VALUE strings, as os.Environ returns them) and validates.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, &Error{Source: path, Err: err}
	}
	if err := decodeStrict(raw, path, &cfg); err != nil {
		return cfg, err
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		var ve *Error
		if errors.As(err, &ve) && ve.Source == "" {
			ve.Source = Source(path, environ, ve.Key)
			if other := Source(path, environ, ve.OrKey); ve.OrKey != "" && ve.Source == path && other != path {
				ve.Key, ve.Source = ve.OrKey, other
			}
		}
		return cfg, err
	}
	return cfg, nil
}

// Source says where the value of key (section.key) came from: the
// environment variable that overrides it when environ sets one, else the
// file at path. An error about a value must send the operator to where it
// is written, not to a file that may not even hold the key.
func Source(path string, environ []string, key string) string {
	section, name, ok := strings.Cut(key, ".")
	if !ok {
		return path
	}
	variable := envName(section, name)
	for _, kv := range environ {
		if k, _, ok := strings.Cut(kv, "="); ok && k == variable {
			return "environment variable " + variable
		}
	}
	return path
}

// Save writes cfg as indented JSON, readable by an operator.
func Save(path string, cfg Config) error {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(path, append(b, '\n'), 0o600)
}

// decodeStrict refuses unknown sections and keys, naming them, because a typo
// in a key otherwise silently leaves a default in force.
func decodeStrict(raw []byte, path string, cfg *Config) error {
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sections); err != nil {
		return &Error{Source: path, Err: fmt.Errorf("not valid JSON: %v", err)}
	}
	rv := reflect.ValueOf(cfg).Elem()
	for name, body := range sections {
		field, ok := fieldByTag(rv, name)
		if !ok {
			return &Error{Source: path, Key: name, Err: errors.New("unknown section")}
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(body, &keys); err != nil {
			return &Error{Source: path, Key: name, Err: errors.New("must be a JSON object")}
		}
		for key, val := range keys {
			f, ok := fieldByTag(field, key)
			if !ok {
				return &Error{Source: path, Key: name + "." + key, Err: errors.New("unknown key")}
			}
			if err := json.Unmarshal(val, f.Addr().Interface()); err != nil {
				return &Error{Source: path, Key: name + "." + key, Err: typeError(err, f)}
			}
		}
	}
	return nil
}

func typeError(err error, f reflect.Value) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("wrong type: want %s, got JSON %s", kindName(f), te.Value)
	}
	return err
}

func kindName(f reflect.Value) string {
	if _, ok := f.Addr().Interface().(*Duration); ok {
		return "a duration string"
	}
	switch f.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int:
		return "an integer"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "a list of strings"
	case reflect.Map:
		return "an object of strings"
	}
	return f.Type().String()
}

func fieldByTag(v reflect.Value, tag string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if strings.Split(t.Field(i).Tag.Get("json"), ",")[0] == tag {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// EnvKeys lists every override variable, for documentation and errors.
func EnvKeys() []string {
	var out []string
	walk(reflect.ValueOf(&Config{}).Elem(), func(section, key string, _ reflect.Value, _ bool) {
		out = append(out, envName(section, key))
	})
	sort.Strings(out)
	return out
}

func envName(section, key string) string {
	return EnvPrefix + strings.ToUpper(section) + "_" + strings.ToUpper(key)
}

// walk calls fn for every key, with whether its value holds credentials
// (tagged secret:"true"), which an error about it must never echo.
func walk(cfg reflect.Value, fn func(section, key string, f reflect.Value, secret bool)) {
	ct := cfg.Type()
	for i := 0; i < ct.NumField(); i++ {
		section := ct.Field(i).Tag.Get("json")
		sv := cfg.Field(i)
		st := sv.Type()
		for j := 0; j < st.NumField(); j++ {
			tag := st.Field(j).Tag
			fn(section, tag.Get("json"), sv.Field(j), tag.Get("secret") == "true")
		}
	}
}

func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	var firstErr error
	walk(reflect.ValueOf(cfg).Elem(), func(section, key string, f reflect.Value, secret bool) {
		name := envName(section, key)
		v, ok := env[name]
		if !ok || firstErr != nil {
			return
		}
		if err := setFromString(f, v, secret); err != nil {
			firstErr = &Error{Source: "environment variable " + name, Key: section + "." + key, Err: err}
		}
	})
	return firstErr
}

// setFromString parses the environment's flat form: lists are
// comma-separated and maps are key=value pairs separated by commas. An
// error about a secret value says which pair is wrong, never what it holds.
func setFromString(f reflect.Value, s string, secret bool) error {
	if d, ok := f.Addr().Interface().(*Duration); ok {
		return d.parse(s)
	}
	// Structured values (a map of objects) are given as JSON.
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") && !isStringMap(f) {
		if err := json.Unmarshal([]byte(t), f.Addr().Interface()); err != nil {
			return fmt.Errorf("not valid JSON for this key: %v", err)
		}
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		f.SetInt(int64(n))
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a boolean", s)
		}
		f.SetBool(b)
	case reflect.Slice:
		list := []string{}
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		f.Set(reflect.ValueOf(list))
	case reflect.Map:
		if !isStringMap(f) {
			return fmt.Errorf("give this key as a JSON object")
		}
		m := map[string]string{}
		for i, pair := range strings.Split(s, ",") {
			if pair = strings.TrimSpace(pair); pair == "" {
				continue
			}
			k, v, ok := strings.Cut(pair, "=")
			if !ok || strings.TrimSpace(k) == "" {
				if secret {
					return fmt.Errorf("pair %d of the comma-separated list is not a key=value pair", i+1)
				}
				return fmt.Errorf("%q is not a key=value pair", pair)
			}
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		f.Set(reflect.ValueOf(m))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

func isStringMap(f reflect.Value) bool {
	return f.Kind() == reflect.Map && f.Type().Elem().Kind() == reflect.String
}
