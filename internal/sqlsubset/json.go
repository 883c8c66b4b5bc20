package sqlsubset

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
)

// The JSON encoding of a tree. Every node is an object whose first key is
// "kind"; Marshal writes the other keys in the order listed, leaves out the
// optional ones (marked ?) when they are false or empty, and writes no
// whitespace, so one tree has exactly one encoding.
//
//	{"kind":"column","name":S,"path"?:[S,...]}
//	{"kind":"literal","type":T,"value"?:V}        T a canonical type string
//	{"kind":"compare","op":"eq|ne|lt|le|gt|ge","left":N,"right":N}
//	{"kind":"and","args":[N,N,...]}               two or more
//	{"kind":"or","args":[N,N,...]}                two or more
//	{"kind":"not","arg":N}
//	{"kind":"in","expr":N,"list":[L,...],"not"?:true}   L literal nodes
//	{"kind":"between","expr":N,"low":N,"high":N,"not"?:true}
//	{"kind":"like","expr":N,"pattern":S,"not"?:true,"ilike"?:true}
//	{"kind":"is_null","expr":N,"not"?:true}
//	{"kind":"is_bool","expr":N,"value":B,"not"?:true}
//	{"kind":"cast","expr":N,"type":T}
//	{"kind":"call","name":S,"args"?:[N,...]}
//
// Literal values: none for null; a JSON boolean for bool; a JSON string for
// everything else so that no number loses precision: decimal digits for
// int64, uint64, date32 (days since the epoch), timestamp (units since the
// epoch) and decimal128 (the unscaled value); the shortest round-tripping
// form for float64; the text for string; standard padded base64 for binary.
// Strings are escaped as encoding/json does (including <, > and &), so
// re-encoding the bytes with encoding/json leaves them unchanged.
//
// Unmarshal is strict: it rejects unknown kinds, unknown or duplicate keys,
// missing keys, JSON numbers, wrong operand counts, invalid literals and
// types, literal values not spelled as Marshal spells them ("+1", "01"),
// unknown functions, more than MaxDepth levels or MaxNodes nodes, invalid
// UTF-8 and trailing data. It tolerates whitespace and keys (other than
// "kind", which comes first) in another order, so that a plan re-indented
// by encoding/json still decodes; a signature covers the bytes, not the
// tree.

// Marshal returns the canonical JSON encoding of e. It fails if e is not
// valid (see Validate).
func Marshal(e Expr) ([]byte, error) {
	if err := Validate(e); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	encode(&b, e)
	return b.Bytes(), nil
}

// Tree wraps an expression for use as a field of a JSON-encoded struct; a
// nil Expr encodes as null.
type Tree struct{ Expr Expr }

// MarshalJSON implements json.Marshaler with Marshal.
func (t Tree) MarshalJSON() ([]byte, error) {
	if isNil(t.Expr) {
		return []byte("null"), nil
	}
	return Marshal(t.Expr)
}

// UnmarshalJSON implements json.Unmarshaler with Unmarshal.
func (t *Tree) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		t.Expr = nil
		return nil
	}
	e, err := Unmarshal(data)
	if err != nil {
		return err
	}
	t.Expr = e
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // cannot fail for a string
	b.Write(enc)
}

func writeKey(b *bytes.Buffer, k string) {
	b.WriteByte(',')
	writeString(b, k)
	b.WriteByte(':')
}

func writeNodes(b *bytes.Buffer, es []Expr) {
	b.WriteByte('[')
	for i, e := range es {
		if i > 0 {
			b.WriteByte(',')
		}
		encode(b, e)
	}
	b.WriteByte(']')
}

func writeNot(b *bytes.Buffer, not bool) {
	if not {
		b.WriteString(`,"not":true`)
	}
}

func encode(b *bytes.Buffer, e Expr) {
	b.WriteString(`{"kind":`)
	switch n := e.(type) {
	case *Column:
		b.WriteString(`"column"`)
		writeKey(b, "name")
		writeString(b, n.Name)
		if len(n.Path) > 0 {
			writeKey(b, "path")
			b.WriteByte('[')
			for i, p := range n.Path {
				if i > 0 {
					b.WriteByte(',')
				}
				writeString(b, p)
			}
			b.WriteByte(']')
		}
	case *Literal:
		b.WriteString(`"literal"`)
		writeKey(b, "type")
		writeString(b, n.Type.String())
		switch n.Type.ID {
		case Null:
		case Bool:
			writeKey(b, "value")
			b.WriteString(strconv.FormatBool(n.Bool))
		default:
			writeKey(b, "value")
			writeString(b, literalText(n))
		}
	case *Compare:
		b.WriteString(`"compare"`)
		writeKey(b, "op")
		writeString(b, compareOpNames[n.Op])
		writeKey(b, "left")
		encode(b, n.Left)
		writeKey(b, "right")
		encode(b, n.Right)
	case *And:
		b.WriteString(`"and"`)
		writeKey(b, "args")
		writeNodes(b, n.Args)
	case *Or:
		b.WriteString(`"or"`)
		writeKey(b, "args")
		writeNodes(b, n.Args)
	case *Not:
		b.WriteString(`"not"`)
		writeKey(b, "arg")
		encode(b, n.Arg)
	case *In:
		b.WriteString(`"in"`)
		writeKey(b, "expr")
		encode(b, n.Expr)
		writeKey(b, "list")
		list := make([]Expr, len(n.List))
		for i, l := range n.List {
			list[i] = l
		}
		writeNodes(b, list)
		writeNot(b, n.Not)
	case *Between:
		b.WriteString(`"between"`)
		writeKey(b, "expr")
		encode(b, n.Expr)
		writeKey(b, "low")
		encode(b, n.Low)
		writeKey(b, "high")
		encode(b, n.High)
		writeNot(b, n.Not)
	case *Like:
		b.WriteString(`"like"`)
		writeKey(b, "expr")
		encode(b, n.Expr)
		writeKey(b, "pattern")
		writeString(b, n.Pattern)
		writeNot(b, n.Not)
		if n.CaseInsensitive {
			b.WriteString(`,"ilike":true`)
		}
	case *IsNull:
		b.WriteString(`"is_null"`)
		writeKey(b, "expr")
		encode(b, n.Expr)
		writeNot(b, n.Not)
	case *IsBool:
		b.WriteString(`"is_bool"`)
		writeKey(b, "expr")
		encode(b, n.Expr)
		writeKey(b, "value")
		b.WriteString(strconv.FormatBool(n.Value))
		writeNot(b, n.Not)
	case *Cast:
		b.WriteString(`"cast"`)
		writeKey(b, "expr")
		encode(b, n.Expr)
		writeKey(b, "type")
		writeString(b, n.Type.String())
	case *Call:
		b.WriteString(`"call"`)
		writeKey(b, "name")
		writeString(b, n.Name)
		if len(n.Args) > 0 {
			writeKey(b, "args")
			writeNodes(b, n.Args)
		}
	}
	b.WriteByte('}')
}

// literalText is the JSON string form of a non-null, non-bool literal.
func literalText(l *Literal) string {
	switch l.Type.ID {
	case Int64, Date32, Timestamp:
		return strconv.FormatInt(l.Int, 10)
	case Uint64:
		return strconv.FormatUint(l.Uint, 10)
	case Float64:
		return strconv.FormatFloat(l.Float, 'g', -1, 64)
	case Binary:
		return base64.StdEncoding.EncodeToString(l.Bytes)
	}
	return l.Str // Decimal128, String
}

// Unmarshal decodes and validates the JSON encoding of a tree.
func Unmarshal(data []byte) (Expr, error) {
	if !utf8.Valid(data) {
		return nil, decodeError("$", "input is not valid UTF-8")
	}
	d := &decoder{dec: json.NewDecoder(bytes.NewReader(data))}
	d.dec.UseNumber()
	e, err := d.node("$", 1)
	if err != nil {
		return nil, err
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return nil, decodeError("$", "unexpected data after the expression")
	}
	return e, nil
}

func decodeError(path, format string, args ...any) error {
	return apierr.New(apierr.InvalidArgument, "invalid expression JSON at %s: %s", path, fmt.Sprintf(format, args...))
}

type decoder struct {
	dec   *json.Decoder
	nodes int
}

func (d *decoder) token(path string) (json.Token, error) {
	t, err := d.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, decodeError(path, "unexpected end of input")
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, decodeError(path, "malformed JSON at byte %d: %s", se.Offset, se.Error())
		}
		return nil, decodeError(path, "malformed JSON: %s", err.Error())
	}
	return t, nil
}

func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		return strconv.Quote(v.String())
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "value"
}

func (d *decoder) delim(path string, want json.Delim) error {
	t, err := d.token(path)
	if err != nil {
		return err
	}
	if t != want {
		return decodeError(path, "expected %q, found %s", want.String(), describe(t))
	}
	return nil
}

func (d *decoder) str(path string) (string, error) {
	t, err := d.token(path)
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", decodeError(path, "expected a string, found %s", describe(t))
	}
	return s, nil
}

func (d *decoder) boolean(path string) (bool, error) {
	t, err := d.token(path)
	if err != nil {
		return false, err
	}
	b, ok := t.(bool)
	if !ok {
		return false, decodeError(path, "expected true or false, found %s", describe(t))
	}
	return b, nil
}

// array calls elem for each element of a JSON array.
func (d *decoder) array(path string, elem func(path string) error) error {
	if err := d.delim(path, '['); err != nil {
		return err
	}
	for i := 0; d.dec.More(); i++ {
		if err := elem(path + "[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	return d.delim(path, ']')
}

func (d *decoder) strs(path string) ([]string, error) {
	var out []string
	err := d.array(path, func(p string) error {
		s, err := d.str(p)
		out = append(out, s)
		return err
	})
	return out, err
}

func (d *decoder) nodeList(path string, depth int) ([]Expr, error) {
	var out []Expr
	err := d.array(path, func(p string) error {
		e, err := d.node(p, depth)
		out = append(out, e)
		return err
	})
	return out, err
}

// fields lists the keys each kind allows and which of them are required.
var fields = map[string]map[string]bool{
	"column":  {"name": true, "path": false},
	"literal": {"type": true, "value": false},
	"compare": {"op": true, "left": true, "right": true},
	"and":     {"args": true},
	"or":      {"args": true},
	"not":     {"arg": true},
	"in":      {"expr": true, "list": true, "not": false},
	"between": {"expr": true, "low": true, "high": true, "not": false},
	"like":    {"expr": true, "pattern": true, "not": false, "ilike": false},
	"is_null": {"expr": true, "not": false},
	"is_bool": {"expr": true, "value": true, "not": false},
	"cast":    {"expr": true, "type": true},
	"call":    {"name": true, "args": false},
}

// node decodes one expression node at depth.
func (d *decoder) node(path string, depth int) (Expr, error) {
	if depth > MaxDepth {
		return nil, decodeError(path, "expression nests deeper than %d levels", MaxDepth)
	}
	d.nodes++
	if d.nodes > MaxNodes {
		return nil, decodeError(path, "expression has more than %d nodes", MaxNodes)
	}
	if err := d.delim(path, '{'); err != nil {
		return nil, err
	}
	key, err := d.token(path)
	if err != nil {
		return nil, err
	}
	if key != "kind" {
		if key == json.Delim('}') {
			return nil, decodeError(path, "missing \"kind\"")
		}
		return nil, decodeError(path, "the first key must be \"kind\"")
	}
	kind, err := d.str(path + ".kind")
	if err != nil {
		return nil, err
	}
	allowed, ok := fields[kind]
	if !ok {
		return nil, decodeError(path, "unknown node kind %q", kind)
	}

	var (
		seen                     = map[string]bool{}
		name, pattern, op, typ   string
		pathNames                []string
		args, list               []Expr
		left, right, arg, x      Expr
		low, high                Expr
		not, ilike, boolValue    bool
		value                    json.Token
		litValuePath, typeString string
	)
	for d.dec.More() {
		kt, err := d.token(path)
		if err != nil {
			return nil, err
		}
		k, _ := kt.(string)
		if k == "kind" {
			return nil, decodeError(path, "duplicate key %q", k)
		}
		if _, ok := allowed[k]; !ok {
			return nil, decodeError(path, "unknown key %q in %s node", k, kind)
		}
		if seen[k] {
			return nil, decodeError(path, "duplicate key %q", k)
		}
		seen[k] = true
		p := path + "." + k
		switch k {
		case "name":
			name, err = d.str(p)
		case "path":
			pathNames, err = d.strs(p)
		case "pattern":
			pattern, err = d.str(p)
		case "op":
			op, err = d.str(p)
		case "type":
			typ, err = d.str(p)
			typeString = p
		case "args":
			args, err = d.nodeList(p, depth+1)
		case "list":
			list, err = d.nodeList(p, depth+1)
		case "left":
			left, err = d.node(p, depth+1)
		case "right":
			right, err = d.node(p, depth+1)
		case "arg":
			arg, err = d.node(p, depth+1)
		case "expr":
			x, err = d.node(p, depth+1)
		case "low":
			low, err = d.node(p, depth+1)
		case "high":
			high, err = d.node(p, depth+1)
		case "not":
			not, err = d.boolean(p)
		case "ilike":
			ilike, err = d.boolean(p)
		case "value":
			if kind == "is_bool" {
				boolValue, err = d.boolean(p)
			} else {
				value, err = d.token(p)
				litValuePath = p
				if err == nil {
					if dl, ok := value.(json.Delim); ok {
						err = decodeError(p, "expected a string or boolean, found %q", dl.String())
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if err := d.delim(path, '}'); err != nil {
		return nil, err
	}
	for k, required := range allowed {
		if required && !seen[k] {
			return nil, decodeError(path, "missing key %q in %s node", k, kind)
		}
	}

	var e Expr
	switch kind {
	case "column":
		e = &Column{Name: name, Path: pathNames}
	case "literal":
		t, err := ParseType(typ)
		if err != nil {
			return nil, decodeError(typeString, "%s", apierr.PublicMessage(err))
		}
		if !seen["value"] {
			litValuePath = path
		}
		l, err := literalFromJSON(t, value, seen["value"], litValuePath)
		if err != nil {
			return nil, err
		}
		e = l
	case "compare":
		var cop CompareOp
		for o, n := range compareOpNames {
			if n == op {
				cop = o
			}
		}
		if cop == "" {
			return nil, decodeError(path+".op", "unknown comparison operator %q", op)
		}
		e = &Compare{Op: cop, Left: left, Right: right}
	case "and":
		e = &And{Args: args}
	case "or":
		e = &Or{Args: args}
	case "not":
		e = &Not{Arg: arg}
	case "in":
		lits := make([]*Literal, len(list))
		for i, item := range list {
			l, ok := item.(*Literal)
			if !ok {
				return nil, decodeError(path+".list["+strconv.Itoa(i)+"]", "IN list elements must be literals")
			}
			lits[i] = l
		}
		e = &In{Expr: x, List: lits, Not: not}
	case "between":
		e = &Between{Expr: x, Low: low, High: high, Not: not}
	case "like":
		e = &Like{Expr: x, Pattern: pattern, Not: not, CaseInsensitive: ilike}
	case "is_null":
		e = &IsNull{Expr: x, Not: not}
	case "is_bool":
		e = &IsBool{Expr: x, Value: boolValue, Not: not}
	case "cast":
		t, err := ParseType(typ)
		if err != nil {
			return nil, decodeError(typeString, "%s", apierr.PublicMessage(err))
		}
		e = &Cast{Expr: x, Type: t}
	case "call":
		e = &Call{Name: name, Args: args}
	}
	if err := checkNode(e); err != nil {
		return nil, decodeError(path, "%s", apierr.PublicMessage(err))
	}
	return e, nil
}

func literalFromJSON(t Type, v json.Token, present bool, path string) (*Literal, error) {
	if t.ID == Null {
		if present {
			return nil, decodeError(path, "a null literal has no value")
		}
		return NullLiteral(), nil
	}
	if !present {
		return nil, decodeError(path, "missing key \"value\" in literal node")
	}
	if t.ID == Bool {
		b, ok := v.(bool)
		if !ok {
			return nil, decodeError(path, "the value of a literal of type bool must be true or false")
		}
		return BoolLiteral(b), nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, decodeError(path, "the value of a literal of type %s must be a JSON string, found %s", t, describe(v))
	}
	bad := func() (*Literal, error) {
		return nil, decodeError(path, "invalid %s literal %q", t, s)
	}
	var l *Literal
	switch t.ID {
	case Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != s {
			return bad()
		}
		l = Int64Literal(n)
	case Uint64:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || strconv.FormatUint(n, 10) != s {
			return bad()
		}
		l = Uint64Literal(n)
	case Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || strconv.FormatFloat(f, 'g', -1, 64) != s {
			return bad()
		}
		l = Float64Literal(f)
	case Decimal128:
		l = &Literal{Type: t, Str: s}
	case String:
		l = StringLiteral(s)
	case Binary:
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || base64.StdEncoding.EncodeToString(b) != s {
			return bad()
		}
		l = BinaryLiteral(b)
	case Date32:
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || strconv.FormatInt(n, 10) != s {
			return bad()
		}
		l = Date32Literal(int32(n))
	case Timestamp:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != s {
			return bad()
		}
		l = &Literal{Type: t, Int: n}
	default:
		return nil, decodeError(path, "type %s cannot be a literal", t)
	}
	if err := l.Validate(); err != nil {
		return nil, decodeError(path, "%s", apierr.PublicMessage(err))
	}
	return l, nil
}
