// Package configfile decodes one YAML config file into a typed struct,
// strictly: an unknown key, a duplicate key or a value of the wrong type is an
// error that names the file, the line and the dotted key. yaml.v3's own
// decoder names the line but not the key for type errors, so this walks the
// node tree itself.
package configfile

import (
	"encoding"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Error locates a problem in a config file.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: key %q: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// Load reads path and decodes it into dst, a pointer to a struct whose fields
// carry `yaml:"name"` tags. Keys absent from the file keep dst's values, so
// callers fill dst with defaults first.
func Load(path string, dst any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	return Decode(path, data, dst)
}

// Decode is Load for bytes already read; name is used in errors.
func Decode(name string, data []byte, dst any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &Error{File: name, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty file: all defaults
	}
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return errors.New("configfile: dst must be a pointer to a struct")
	}
	d := decoder{file: name}
	return d.value(doc.Content[0], v.Elem(), "")
}

type decoder struct{ file string }

func (d decoder) fail(n *yaml.Node, key, format string, args ...any) error {
	return &Error{File: d.file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

var durationType = reflect.TypeOf(time.Duration(0))

func (d decoder) value(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind == yaml.AliasNode {
		return d.fail(n, key, "YAML aliases are not supported in config files")
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // "key:" with no value keeps the default
	}
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
			if n.Kind != yaml.ScalarNode {
				return d.fail(n, key, "want a single value, got %s", kindName(n))
			}
			if err := u.UnmarshalText([]byte(n.Value)); err != nil {
				return d.fail(n, key, "%v", err)
			}
			return nil
		}
	}
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode {
			return d.fail(n, key, "want a duration such as 30s or 5m, got %s", kindName(n))
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			return d.fail(n, key, "invalid duration %q: want a number with a unit such as 30s, 5m or 1h", n.Value)
		}
		if dur < 0 {
			return d.fail(n, key, "duration %q must not be negative", n.Value)
		}
		v.SetInt(int64(dur))
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.structure(n, v, key)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.value(n, v.Elem(), key)
	case reflect.Map:
		return d.mapping(n, v, key)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.fail(n, key, "want a list, got %s", kindName(n))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return d.fail(n, key, "want a single value, got %s", kindName(n))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if err != nil || n.Tag != "!!bool" {
			return d.fail(n, key, "invalid boolean %q: want true or false", n.Value)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 10, v.Type().Bits())
		if err != nil {
			return d.fail(n, key, "invalid integer %q", n.Value)
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(n.Value, 10, v.Type().Bits())
		if err != nil {
			return d.fail(n, key, "invalid non-negative integer %q", n.Value)
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, v.Type().Bits())
		if err != nil {
			return d.fail(n, key, "invalid number %q", n.Value)
		}
		v.SetFloat(f)
	default:
		return d.fail(n, key, "unsupported field type %s", v.Type())
	}
	return nil
}

func (d decoder) structure(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.MappingNode {
		return d.fail(n, key, "want a mapping of keys, got %s", kindName(n))
	}
	fields := map[string]int{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" && t.Field(i).IsExported() {
			fields[name] = i
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		full := join(key, k.Value)
		if seen[k.Value] {
			return d.fail(k, full, "duplicate key")
		}
		seen[k.Value] = true
		idx, ok := fields[k.Value]
		if !ok {
			return d.fail(k, full, "unknown key (known keys%s: %s)", scope(key), known(fields))
		}
		if err := d.value(val, v.Field(idx), full); err != nil {
			return err
		}
	}
	return nil
}

func (d decoder) mapping(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.MappingNode {
		return d.fail(n, key, "want a mapping, got %s", kindName(n))
	}
	if v.Type().Key().Kind() != reflect.String {
		return d.fail(n, key, "unsupported map key type %s", v.Type().Key())
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		full := join(key, k.Value)
		if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			return d.fail(k, full, "duplicate key")
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := d.value(val, elem, full); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
	return nil
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func scope(key string) string {
	if key == "" {
		return ""
	}
	return " under " + key
}

func known(fields map[string]int) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}
