package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
)

// JSONOptions control a newline-delimited JSON scan.
type JSONOptions struct {
	TextOptions
}

// ParseJSONOptions reads a task's format options: only
// FormatOptionColumns. An unknown option is FailedPrecondition.
func ParseJSONOptions(opts map[string]string) (JSONOptions, error) {
	var o JSONOptions
	for k, v := range opts {
		if k != FormatOptionColumns {
			return o, apierr.New(apierr.FailedPrecondition, "JSON format option %q is not supported by this agent", k)
		}
		cols, err := parseFileColumns(v)
		if err != nil {
			return o, err
		}
		o.FileColumns = cols
	}
	return o, nil
}

// JSON reads the newline-delimited JSON object of size bytes behind r (one
// JSON object per line; blank lines are skipped; gzip is decompressed; a
// UTF-8 byte order mark is skipped) and calls fn with each record batch of
// the requested columns, in that order. A column is the object's key of
// exactly its name; a missing key or null is NULL, other keys are skipped.
// Values follow the column's type, as schema inference infers them:
//
//   - string: a JSON string as is; any other value as its JSON text
//     (inference declares string where values of several kinds meet)
//   - bool: true or false; numbers: a JSON number (an integer for
//     integer types, at most the scale's digits after the point for a
//     decimal, no exponent); struct: an object, by key; list: an array
//   - binary: a base64 string
//   - any scalar type also takes a JSON string spelled as in CSV (see
//     textAppender), e.g. "2024-05-06" for a date32, "1.50" for a decimal;
//     an empty string is NULL except for string and binary
//
// The object is read front to back in ReadAhead ranged reads. A batch is
// released when fn returns; an error from fn stops the scan and is
// returned unchanged. With no columns, batches without columns count the
// objects.
//
// Errors are InvalidArgument and name the line (and for a value the
// column, never the value): invalid or truncated JSON, a line that is not
// one object, a key that appears twice, a line longer than
// MaxRecordBytes, a value its column's type cannot hold. An error of r is
// returned wrapped with its code; ctx's error when ctx is cancelled.
func JSON(ctx context.Context, r io.ReaderAt, size int64, columns []Column, opts JSONOptions, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	if err := checkColumns(columns); err != nil {
		return err
	}
	opts.defaults()
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	text, _, err := openText(r, size)
	if err != nil {
		return err
	}
	b := newBatcher(ctx, columns, opts.BatchSize, mem, fn)
	defer b.release()
	root := &jsonNode{index: make(map[string]int, len(columns)), seen: make([]bool, len(columns))}
	for i, c := range columns {
		n, err := newJSONNode(c.Name, b.bld.Field(i))
		if err != nil {
			return err
		}
		root.index[c.Name] = i
		root.fields = append(root.fields, n)
	}
	s := &jsonScan{in: newTextInput(text), max: opts.MaxRecordBytes, root: root, b: b}
	if err := s.run(); err != nil {
		return err
	}
	return b.flush()
}

type jsonScan struct {
	in   *textInput
	max  int
	line int
	acc  []byte
	root *jsonNode
	b    *batcher
}

func (s *jsonScan) run() error {
	for {
		line, ok, err := s.nextLine()
		if err != nil || !ok {
			return err
		}
		trimmed := bytes.TrimSpace(line)
		if s.line == 1 {
			trimmed = bytes.TrimPrefix(trimmed, utf8BOM)
		}
		if len(trimmed) == 0 {
			continue
		}
		if err := s.object(trimmed); err != nil {
			return err
		}
		if err := s.b.rowDone(len(line)); err != nil {
			return err
		}
	}
}

// nextLine returns the next line without its newline; false at the end.
// The line may point into the input's buffer: it is valid until the next
// call.
func (s *jsonScan) nextLine() ([]byte, bool, error) {
	in := s.in
	s.acc = s.acc[:0]
	tooLong := func() error {
		return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d: a line longer than %d bytes", s.line+1, s.max)
	}
	for {
		if !in.fill() {
			if err := in.readErr(); err != nil {
				return nil, false, err
			}
			if len(s.acc) == 0 {
				return nil, false, nil
			}
			s.line++
			return s.acc, true, nil // the last line has no newline
		}
		seg := in.buf[in.pos:in.end]
		i := bytes.IndexByte(seg, '\n')
		if i < 0 {
			s.acc = append(s.acc, seg...)
			in.pos = in.end
			if len(s.acc) > s.max {
				return nil, false, tooLong()
			}
			continue
		}
		in.pos += i + 1
		line := seg[:i]
		if len(s.acc) > 0 {
			s.acc = append(s.acc, line...)
			line = s.acc
		}
		if len(line) > s.max {
			return nil, false, tooLong()
		}
		s.line++
		return line, true, nil
	}
}

// object decodes one line into the builders.
func (s *jsonScan) object(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return s.syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d: not a JSON object", s.line)
	}
	if err := s.root.object(dec); err != nil {
		var ve valueError
		if errors.As(err, &ve) {
			return apierr.New(apierr.InvalidArgument, "invalid JSON value at line %d, column %q (%s): %v", s.line, ve.node.name, typeName(ve.node.b.Type()), ve.err)
		}
		return s.syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d: more than one JSON value", s.line)
		}
		return s.syntax(err)
	}
	return nil
}

// syntax describes a decoding error without quoting the input.
func (s *jsonScan) syntax(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d: syntax error at byte %d of the line", s.line, se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, errTruncated):
		return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d: the line ends inside a value (truncated?)", s.line)
	}
	return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d", s.line)
}

var errTruncated = errors.New("truncated JSON")

// valueError is a value its column cannot hold.
type valueError struct {
	node *jsonNode
	err  error
}

func (e valueError) Error() string { return e.node.name + ": " + e.err.Error() }

// jsonNode decodes the values of one column, or of a field or the
// elements nested in it, into its builder.
type jsonNode struct {
	name    string // the column, or its path to a nested field
	b       array.Builder
	text    appendText // scalars: the CSV spelling
	str     bool       // string: any value, non-strings as JSON text
	numeric bool       // takes JSON numbers through text
	boolean bool
	binary  bool
	// struct (and the root, which has no builder)
	fields []*jsonNode
	index  map[string]int
	seen   []bool
	// list
	elem *jsonNode
}

func newJSONNode(name string, b array.Builder) (*jsonNode, error) {
	n := &jsonNode{name: name, b: b}
	switch bld := b.(type) {
	case *array.StructBuilder:
		st := bld.Type().(*arrow.StructType)
		n.index = make(map[string]int, st.NumFields())
		n.seen = make([]bool, st.NumFields())
		for i, f := range st.Fields() {
			c, err := newJSONNode(name+"."+f.Name, bld.FieldBuilder(i))
			if err != nil {
				return nil, err
			}
			n.index[f.Name] = i
			n.fields = append(n.fields, c)
		}
		return n, nil
	case *array.ListBuilder:
		c, err := newJSONNode(name+"[]", bld.ValueBuilder())
		if err != nil {
			return nil, err
		}
		n.elem = c
		return n, nil
	}
	text, err := textAppender(b)
	if err != nil {
		return nil, apierr.New(apierr.FailedPrecondition, "column %q: %s", name, apierr.PublicMessage(err))
	}
	n.text = text
	switch b.Type().ID() {
	case arrow.STRING:
		n.str = true
	case arrow.BOOL:
		n.boolean = true
	case arrow.BINARY:
		n.binary = true
	case arrow.DATE32, arrow.TIMESTAMP:
	default:
		n.numeric = true
	}
	return n, nil
}

func (n *jsonNode) bad(format string, args ...any) error {
	return valueError{node: n, err: fmt.Errorf(format, args...)}
}

// value decodes the next value of dec.
func (n *jsonNode) value(dec *json.Decoder) error {
	if n.str {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		sb := n.b.(*array.StringBuilder)
		switch raw[0] {
		case 'n':
			sb.AppendNull()
		case '"':
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			sb.Append(v)
		default:
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return err
			}
			sb.BinaryBuilder.Append(buf.Bytes())
		}
		return nil
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case nil:
		n.b.AppendNull()
		return nil
	case string:
		if n.text == nil {
			return n.bad("got a JSON string")
		}
		if v == "" && !n.binary {
			n.b.AppendNull()
			return nil
		}
		if err := n.text([]byte(v)); err != nil {
			return valueError{node: n, err: err}
		}
		return nil
	case bool:
		if !n.boolean {
			return n.bad("got a JSON boolean")
		}
		n.b.(*array.BooleanBuilder).Append(v)
		return nil
	case json.Number:
		if !n.numeric {
			return n.bad("got a JSON number")
		}
		if err := n.text([]byte(v)); err != nil {
			return valueError{node: n, err: err}
		}
		return nil
	case json.Delim:
		switch {
		case v == '{' && n.index != nil:
			n.b.(*array.StructBuilder).Append(true)
			return n.object(dec)
		case v == '[' && n.elem != nil:
			n.b.(*array.ListBuilder).Append(true)
			for dec.More() {
				if err := n.elem.value(dec); err != nil {
					return err
				}
			}
			return closing(dec, ']')
		case v == '{':
			return n.bad("got a JSON object")
		case v == '[':
			return n.bad("got a JSON array")
		}
	}
	return errTruncated
}

// object decodes the members of an object whose '{' dec has read into
// n's fields; a field without a key is NULL.
func (n *jsonNode) object(dec *json.Decoder) error {
	clear(n.seen)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		i, ok := n.index[key]
		if !ok {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if n.seen[i] {
			return n.fields[i].bad("the key appears twice")
		}
		n.seen[i] = true
		if err := n.fields[i].value(dec); err != nil {
			return err
		}
	}
	if err := closing(dec, '}'); err != nil {
		return err
	}
	for i, seen := range n.seen {
		if !seen {
			n.fields[i].b.AppendNull()
		}
	}
	return nil
}

// closing reads the delimiter that ends an object or array.
func closing(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return errTruncated
	}
	return nil
}
