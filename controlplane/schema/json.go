package schema

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// JSONOptions control newline-delimited JSON inference.
type JSONOptions struct {
	// SampleRows is how many objects (non-blank lines) are read
	// (DefaultSampleRows when 0); SampleBytes bounds the (decompressed)
	// bytes read (DefaultSampleBytes when 0). A line cut by the byte limit
	// is dropped.
	SampleRows  int
	SampleBytes int64
}

// InferJSON infers the columns of a newline-delimited JSON file (one object
// per line; blank lines are skipped; gzip is recognised by its magic
// bytes) from its first objects. name is used in messages.
//
// Types follow the JSON values: true/false bool; a number without fraction
// or exponent that fits int64 is int64, any other number float64; a string
// is string (no date or timestamp guessing); an object is a struct of its
// keys in order of first appearance; an array is a list of its elements'
// merged type. Across lines and elements types widen: int64 and float64
// give float64; structs merge their fields; lists merge their elements;
// null or a missing key only makes the column nullable; any other conflict
// gives string (an agent renders the value's JSON text). A column seen only
// as null, an empty object or an empty array ends as string,
// string and list<string> respectively. Top-level columns are nullable
// when some sampled object lacks them or holds null; struct fields and list
// elements are always nullable.
//
// Errors are InvalidArgument naming the file and line: invalid JSON, a
// line that is not an object, nesting deeper than 32 levels, an empty key,
// a file without objects.
func InferJSON(r io.Reader, name string, opts JSONOptions) ([]Column, error) {
	if opts.SampleRows <= 0 {
		opts.SampleRows = DefaultSampleRows
	}
	if opts.SampleBytes <= 0 {
		opts.SampleBytes = DefaultSampleBytes
	}
	src, err := maybeGunzip(r, name)
	if err != nil {
		return nil, err
	}
	lim := &limitedReader{r: src, n: opts.SampleBytes}
	br := bufio.NewReaderSize(lim, 64<<10)
	root := &jtype{kind: jStruct}
	present := map[string]int{} // top-level key -> objects that had it non-null
	rows, lineNo := 0, 0
	var line []byte
	for rows < opts.SampleRows {
		line = line[:0]
		chunk, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			line = append(line, chunk...)
			chunk, err = br.ReadSlice('\n')
		}
		line = append(line, chunk...)
		lineNo++
		if err != nil && err != io.EOF {
			return nil, readError(err, name)
		}
		if err == io.EOF && lim.hit {
			break // the sample limit cut this line: drop it
		}
		trimmed := bytes.TrimSpace(line)
		if lineNo == 1 {
			trimmed = bytes.TrimPrefix(trimmed, []byte{0xef, 0xbb, 0xbf})
		}
		if len(trimmed) > 0 {
			obj, keys, perr := parseJSONObject(trimmed)
			if perr != nil {
				return nil, apierr.New(apierr.InvalidArgument, "%s line %d: %v", name, lineNo, perr)
			}
			root = mergeJSON(root, obj)
			for _, k := range keys {
				present[k]++
			}
			rows++
		}
		if err == io.EOF {
			break
		}
	}
	if rows == 0 {
		return nil, apierr.New(apierr.InvalidArgument, "%s has no JSON objects to infer columns from", name)
	}
	cols := make([]Column, len(root.fields))
	for i, f := range root.fields {
		cols[i] = Column{Name: f.name, Type: f.t.final(), Nullable: present[f.name] < rows}
	}
	return cols, nil
}

type jkind int

const (
	jNull jkind = iota
	jBool
	jInt
	jFloat
	jString
	jStruct
	jList
	jConflict // widened to string
)

type jtype struct {
	kind   jkind
	fields []jfield       // jStruct, in order of first appearance
	index  map[string]int // jStruct
	elem   *jtype         // jList; nil while only empty arrays were seen
}

type jfield struct {
	name string
	t    *jtype
}

const maxJSONDepth = 32

// parseJSONObject decodes one line that must hold exactly one object. keys
// are the object's keys holding a non-null value.
func parseJSONObject(line []byte) (*jtype, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	t, err := parseJSONValue(dec, tok, 1)
	if err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("more than one JSON value on the line")
	}
	var keys []string
	for _, f := range t.fields {
		if f.t.kind != jNull {
			keys = append(keys, f.name)
		}
	}
	return t, keys, nil
}

// parseJSONValue returns the type of the value that starts with tok.
func parseJSONValue(dec *json.Decoder, tok json.Token, depth int) (*jtype, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("JSON nests deeper than %d levels", maxJSONDepth)
	}
	switch v := tok.(type) {
	case nil:
		return &jtype{kind: jNull}, nil
	case bool:
		return &jtype{kind: jBool}, nil
	case string:
		return &jtype{kind: jString}, nil
	case json.Number:
		s := string(v)
		if !strings.ContainsAny(s, ".eE") {
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				return &jtype{kind: jInt}, nil
			}
		}
		return &jtype{kind: jFloat}, nil
	case json.Delim:
		switch v {
		case '{':
			t := &jtype{kind: jStruct}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON: %v", err)
				}
				key, _ := kt.(string)
				if key == "" {
					return nil, errors.New("an object has an empty key")
				}
				vt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON: %v", err)
				}
				ft, err := parseJSONValue(dec, vt, depth+1)
				if err != nil {
					return nil, err
				}
				t.addField(key, ft)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, fmt.Errorf("invalid JSON: %v", err)
			}
			return t, nil
		case '[':
			t := &jtype{kind: jList}
			for dec.More() {
				et, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON: %v", err)
				}
				e, err := parseJSONValue(dec, et, depth+1)
				if err != nil {
					return nil, err
				}
				if t.elem == nil {
					t.elem = e
				} else {
					t.elem = mergeJSON(t.elem, e)
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, fmt.Errorf("invalid JSON: %v", err)
			}
			return t, nil
		}
	}
	return nil, fmt.Errorf("invalid JSON token %v", tok)
}

func (t *jtype) addField(name string, ft *jtype) {
	if t.index == nil {
		t.index = map[string]int{}
	}
	if i, ok := t.index[name]; ok { // a repeated key merges
		t.fields[i].t = mergeJSON(t.fields[i].t, ft)
		return
	}
	t.index[name] = len(t.fields)
	t.fields = append(t.fields, jfield{name: name, t: ft})
}

// mergeJSON widens a and b (see InferJSON). It may reuse a.
func mergeJSON(a, b *jtype) *jtype {
	switch {
	case a.kind == jNull:
		return b
	case b.kind == jNull:
		return a
	case a.kind == jConflict || b.kind == jConflict:
		return &jtype{kind: jConflict}
	case a.kind == b.kind:
		switch a.kind {
		case jStruct:
			for _, f := range b.fields {
				a.addField(f.name, f.t)
			}
		case jList:
			switch {
			case a.elem == nil:
				a.elem = b.elem
			case b.elem != nil:
				a.elem = mergeJSON(a.elem, b.elem)
			}
		}
		return a
	case (a.kind == jInt && b.kind == jFloat) || (a.kind == jFloat && b.kind == jInt):
		return &jtype{kind: jFloat}
	}
	return &jtype{kind: jConflict}
}

// final converts an inferred type to the shared vocabulary.
func (t *jtype) final() sqlsubset.Type {
	switch t.kind {
	case jBool:
		return sqlsubset.Type{ID: sqlsubset.Bool}
	case jInt:
		return sqlsubset.Type{ID: sqlsubset.Int64}
	case jFloat:
		return sqlsubset.Type{ID: sqlsubset.Float64}
	case jStruct:
		if len(t.fields) == 0 {
			return sqlsubset.Type{ID: sqlsubset.String}
		}
		fields := make([]sqlsubset.Field, len(t.fields))
		for i, f := range t.fields {
			fields[i] = sqlsubset.Field{Name: f.name, Type: f.t.final()}
		}
		return sqlsubset.StructType(fields...)
	case jList:
		if t.elem == nil {
			return sqlsubset.ListType(sqlsubset.Type{ID: sqlsubset.String})
		}
		return sqlsubset.ListType(t.elem.final())
	}
	return sqlsubset.Type{ID: sqlsubset.String} // null, string, conflicts
}
