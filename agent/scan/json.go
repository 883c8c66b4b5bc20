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
	text, textSize, err := openText(r, size)
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
	s := &jsonScan{in: newTextInput(text, textSize), max: opts.MaxRecordBytes, root: root, b: b}
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
	lex  jsonLexer
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
	l := &s.lex
	l.b, l.pos = line, 0
	if l.peek() != '{' {
		return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d: not a JSON object", s.line)
	}
	if err := s.root.object(l, 1); err != nil {
		var ve valueError
		if errors.As(err, &ve) {
			return apierr.New(apierr.InvalidArgument, "invalid JSON value at line %d, column %q (%s): %v", s.line, ve.node.name, typeName(ve.node.b.Type()), ve.err)
		}
		return s.syntax(err)
	}
	switch c := l.peek(); {
	case l.pos >= len(l.b):
		return nil
	case bytes.IndexByte([]byte(`{["-0123456789tfn`), c) >= 0:
		return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d: more than one JSON value", s.line)
	}
	return s.syntax(syntaxError{l.pos})
}

// syntax describes a lexer error without quoting the input.
func (s *jsonScan) syntax(err error) error {
	var se syntaxError
	switch {
	case errors.As(err, &se):
		return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d: syntax error at byte %d of the line", s.line, se.offset+1)
	case errors.Is(err, errTruncated):
		return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d: the line ends inside a value (truncated?)", s.line)
	case errors.Is(err, errTooDeep):
		return apierr.New(apierr.InvalidArgument, "invalid JSON at line %d: %v", s.line, err)
	}
	return err
}

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
	// compact renders non-string values of a string column.
	compact bytes.Buffer
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

// value decodes the next value of the line.
func (n *jsonNode) value(l *jsonLexer, depth int) error {
	if depth > maxJSONDepth {
		return errTooDeep
	}
	c := l.peek()
	if n.str {
		sb := n.b.(*array.StringBuilder)
		switch c {
		case '"':
			v, err := l.str()
			if err != nil {
				return err
			}
			sb.BinaryBuilder.Append(v)
		case 'n':
			if err := l.literal("null"); err != nil {
				return err
			}
			sb.AppendNull()
		default:
			// Another kind of value: its JSON text, without white space.
			start := l.pos
			if err := l.skip(depth); err != nil {
				return err
			}
			n.compact.Reset()
			if err := json.Compact(&n.compact, l.b[start:l.pos]); err != nil {
				return syntaxError{start}
			}
			sb.BinaryBuilder.Append(n.compact.Bytes())
		}
		return nil
	}
	switch c {
	case 'n':
		if err := l.literal("null"); err != nil {
			return err
		}
		n.b.AppendNull()
		return nil
	case '"':
		if n.text == nil {
			return n.bad("got a JSON string")
		}
		v, err := l.str()
		if err != nil {
			return err
		}
		if len(v) == 0 && !n.binary {
			n.b.AppendNull()
			return nil
		}
		if err := n.text(v); err != nil {
			return valueError{node: n, err: err}
		}
		return nil
	case 't', 'f':
		word := "false"
		if c == 't' {
			word = "true"
		}
		if err := l.literal(word); err != nil {
			return err
		}
		if !n.boolean {
			return n.bad("got a JSON boolean")
		}
		n.b.(*array.BooleanBuilder).Append(c == 't')
		return nil
	case '{':
		if n.index == nil {
			return n.bad("got a JSON object")
		}
		n.b.(*array.StructBuilder).Append(true)
		return n.object(l, depth)
	case '[':
		if n.elem == nil {
			return n.bad("got a JSON array")
		}
		n.b.(*array.ListBuilder).Append(true)
		l.pos++
		if l.peek() == ']' {
			l.pos++
			return nil
		}
		for {
			if err := n.elem.value(l, depth+1); err != nil {
				return err
			}
			if done, err := l.next(']'); done || err != nil {
				return err
			}
		}
	case 0:
		return l.fail() // the end of the line, or a NUL byte
	}
	if c != '-' && (c < '0' || c > '9') {
		return syntaxError{l.pos}
	}
	if !n.numeric {
		return n.bad("got a JSON number")
	}
	v, err := l.number()
	if err != nil {
		return err
	}
	if err := n.text(v); err != nil {
		return valueError{node: n, err: err}
	}
	return nil
}

// object decodes an object, at its '{', into n's fields; a field without
// a key is NULL, other keys are skipped.
func (n *jsonNode) object(l *jsonLexer, depth int) error {
	l.pos++
	clear(n.seen)
	if l.peek() == '}' {
		l.pos++
	} else {
		for {
			if l.peek() != '"' {
				return l.fail()
			}
			key, err := l.str()
			if err != nil {
				return err
			}
			i, ok := n.index[string(key)]
			if err := l.expect(':'); err != nil {
				return err
			}
			switch {
			case !ok:
				err = l.skip(depth + 1)
			case n.seen[i]:
				err = n.fields[i].bad("the key appears twice")
			default:
				n.seen[i] = true
				err = n.fields[i].value(l, depth+1)
			}
			if err != nil {
				return err
			}
			if done, err := l.next('}'); err != nil {
				return err
			} else if done {
				break
			}
		}
	}
	for i, seen := range n.seen {
		if !seen {
			n.fields[i].b.AppendNull()
		}
	}
	return nil
}
