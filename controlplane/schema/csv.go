package schema

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Sampling defaults for CSV and JSON inference.
const (
	DefaultSampleRows  = 1000
	DefaultSampleBytes = 16 << 20
)

// CSVOptions control CSV inference.
type CSVOptions struct {
	// Header says the first record holds the column names. Without it the
	// columns are named _c0, _c1, ... (as Spark names them).
	Header bool
	// Delimiter separates fields (default ','); Quote encloses fields that
	// hold delimiters, quotes or line breaks (default '"'); inside quotes a
	// doubled quote is one quote. Escape, when set (e.g. '\\'), also
	// escapes the next character inside quotes. All three are single-byte
	// ASCII characters, different from each other and from CR and LF.
	Delimiter byte
	Quote     byte
	Escape    byte
	// NullValues are field values read as NULL besides the empty field,
	// e.g. `\N` or "NULL".
	NullValues []string
	// SampleRows is how many data records are read (DefaultSampleRows when
	// 0); SampleBytes bounds the (decompressed) bytes read
	// (DefaultSampleBytes when 0). A record cut by the byte limit is
	// dropped.
	SampleRows  int
	SampleBytes int64
}

func (o *CSVOptions) defaults() error {
	if o.Delimiter == 0 {
		o.Delimiter = ','
	}
	if o.Quote == 0 {
		o.Quote = '"'
	}
	if o.SampleRows <= 0 {
		o.SampleRows = DefaultSampleRows
	}
	if o.SampleBytes <= 0 {
		o.SampleBytes = DefaultSampleBytes
	}
	for _, c := range []byte{o.Delimiter, o.Quote, o.Escape} {
		if c >= utf8.RuneSelf || c == '\r' || c == '\n' {
			return apierr.New(apierr.InvalidArgument, "CSV delimiter, quote and escape must be ASCII characters other than CR and LF")
		}
	}
	if o.Delimiter == o.Quote || (o.Escape != 0 && (o.Escape == o.Delimiter)) {
		return apierr.New(apierr.InvalidArgument, "CSV delimiter, quote and escape must differ")
	}
	if o.Escape == o.Quote {
		o.Escape = 0 // a doubled quote is the default escape anyway
	}
	return nil
}

// InferCSV infers the columns of a CSV file from its first records (see
// CSVOptions); a gzip-compressed stream is recognised by its magic bytes.
// name (a path or URI) is used in messages.
//
// Each column gets the narrowest type that every non-NULL sampled value
// fits, in this order: bool (true/false, any case), int64 (an optional
// sign and digits without leading zeros, within int64), float64 (a decimal
// number, also with an exponent), date32 (YYYY-MM-DD), timestamp
// (YYYY-MM-DD[T| ]HH:MM:SS[.fraction]: timestamp(us) without an offset,
// timestamp(us,UTC) with Z or ±HH:MM; ns when a fraction has more than six
// digits), and string otherwise. Mixed int64 and float64 give float64, mixed
// date32 and timestamps without offset give the timestamp, any other mix
// gives string. A column is nullable when an empty (or NullValues) field
// appears in the sample; a column that is always empty is a nullable
// string.
//
// Errors are InvalidArgument naming the file and line: a record with a
// different number of fields than the first, a duplicate header name, an
// unterminated quote, a file without records.
func InferCSV(r io.Reader, name string, opts CSVOptions) ([]Column, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	src, err := maybeGunzip(r, name)
	if err != nil {
		return nil, err
	}
	lim := &limitedReader{r: src, n: opts.SampleBytes}
	rd := &csvReader{r: bufio.NewReaderSize(lim, 64<<10), opts: &opts, lim: lim}
	nulls := make(map[string]bool, len(opts.NullValues))
	for _, v := range opts.NullValues {
		nulls[v] = true
	}
	var names []string
	var kinds []scalarKind
	var nullable []bool
	rows := 0
	for rows < opts.SampleRows {
		rec, line, err := rd.record()
		if err == io.EOF {
			break
		}
		if err == errSampleFull {
			break // the last record was cut by the byte limit: drop it
		}
		if err != nil {
			var ae *apierr.Error
			if errors.As(err, &ae) {
				return nil, err
			}
			return nil, apierr.New(apierr.InvalidArgument, "%s line %d: %v", name, line, err)
		}
		if names == nil {
			names = make([]string, len(rec))
			for i := range rec {
				names[i] = "_c" + strconv.Itoa(i)
			}
			kinds = make([]scalarKind, len(rec))
			nullable = make([]bool, len(rec))
			if opts.Header {
				seen := map[string]int{}
				for i, h := range rec {
					if h != "" {
						names[i] = h
					}
					if j, dup := seen[names[i]]; dup {
						return nil, apierr.New(apierr.InvalidArgument, "%s line %d: columns %d and %d are both named %q", name, line, j+1, i+1, names[i])
					}
					seen[names[i]] = i
				}
				continue
			}
		}
		if len(rec) != len(names) {
			return nil, apierr.New(apierr.InvalidArgument, "%s line %d has %d fields, want %d", name, line, len(rec), len(names))
		}
		rows++
		for i, v := range rec {
			if v == "" || nulls[v] {
				nullable[i] = true
				continue
			}
			kinds[i] = widen(kinds[i], classify(v))
		}
	}
	if names == nil {
		return nil, apierr.New(apierr.InvalidArgument, "%s has no CSV records to infer columns from", name)
	}
	cols := make([]Column, len(names))
	for i := range names {
		t := kinds[i].typ()
		cols[i] = Column{Name: names[i], Type: t, Nullable: nullable[i] || kinds[i].k == kNull}
	}
	return cols, nil
}

// scalar kinds, in widening order for numbers.
const (
	kNull = iota
	kBool
	kInt
	kFloat
	kDate
	kTimestamp   // without offset
	kTimestampTZ // with offset: an instant
	kString
)

type scalarKind struct {
	k    int
	nano bool // a timestamp needs ns
}

func (s scalarKind) typ() sqlsubset.Type {
	switch s.k {
	case kBool:
		return sqlsubset.Type{ID: sqlsubset.Bool}
	case kInt:
		return sqlsubset.Type{ID: sqlsubset.Int64}
	case kFloat:
		return sqlsubset.Type{ID: sqlsubset.Float64}
	case kDate:
		return sqlsubset.Type{ID: sqlsubset.Date32}
	case kTimestamp, kTimestampTZ:
		unit := sqlsubset.Micro
		if s.nano {
			unit = sqlsubset.Nano
		}
		tz := ""
		if s.k == kTimestampTZ {
			tz = "UTC"
		}
		return sqlsubset.TimestampType(unit, tz)
	}
	return sqlsubset.Type{ID: sqlsubset.String}
}

// widen merges two observations (CSV rules, see InferCSV).
func widen(a, b scalarKind) scalarKind {
	switch {
	case a.k == kNull:
		return b
	case b.k == kNull:
		return a
	case a.k == b.k:
		return scalarKind{k: a.k, nano: a.nano || b.nano}
	}
	lo, hi := a, b
	if lo.k > hi.k {
		lo, hi = hi, lo
	}
	switch {
	case lo.k == kInt && hi.k == kFloat:
		return scalarKind{k: kFloat}
	case lo.k == kDate && hi.k == kTimestamp:
		return hi
	}
	return scalarKind{k: kString}
}

var timestampRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})?$`)

// classify returns the narrowest kind of one non-empty CSV value.
func classify(v string) scalarKind {
	switch {
	case strings.EqualFold(v, "true") || strings.EqualFold(v, "false"):
		return scalarKind{k: kBool}
	case isInteger(v):
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return scalarKind{k: kInt}
		}
		return scalarKind{k: kString} // beyond int64: an identifier, most likely
	case isFloat(v):
		if f, err := strconv.ParseFloat(v, 64); err == nil && !isInfOrNaN(f) {
			return scalarKind{k: kFloat}
		}
	case len(v) == 10 && validDate(v):
		return scalarKind{k: kDate}
	case len(v) >= 19 && v[4] == '-':
		m := timestampRE.FindStringSubmatch(v)
		if m == nil || !validDate(m[1]) {
			break
		}
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3])
		s, _ := strconv.Atoi(m[4])
		if h > 23 || mi > 59 || s > 59 {
			break
		}
		if m[6] != "" && m[6] != "Z" && m[6] != "z" {
			off := strings.ReplaceAll(m[6][1:], ":", "")
			oh, _ := strconv.Atoi(off[:2])
			om, _ := strconv.Atoi(off[2:])
			if oh > 23 || om > 59 {
				break
			}
		}
		k := kTimestamp
		if m[6] != "" {
			k = kTimestampTZ
		}
		return scalarKind{k: k, nano: len(m[5]) > 6}
	}
	return scalarKind{k: kString}
}

func isInfOrNaN(f float64) bool {
	return f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308
}

func validDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	t, err := time.Parse("2006-01-02", s)
	return err == nil && t.Year() >= 1
}

// isInteger: [+-]?digits without leading zeros.
func isInteger(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isFloat: [+-]?(digits[.digits]|.digits)([eE][+-]?digits)? without
// leading zeros in the integer part.
func isFloat(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	i, intDigits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		intDigits++
	}
	if intDigits > 1 && s[0] == '0' {
		return false
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			fracDigits++
		}
	}
	if intDigits+fracDigits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// maybeGunzip looks at the first two bytes and decompresses gzip.
func maybeGunzip(r io.Reader, name string) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, readError(err, name)
	}
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, apierr.New(apierr.InvalidArgument, "%s: corrupt gzip stream: %v", name, err)
		}
		return &gzipReader{zr: zr, name: name}, nil
	}
	return br, nil
}

// gzipReader reports corrupt compressed data as InvalidArgument.
type gzipReader struct {
	zr   *gzip.Reader
	name string
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		var ae *apierr.Error
		if !errors.As(err, &ae) {
			err = apierr.New(apierr.InvalidArgument, "%s: corrupt gzip stream: %v", g.name, err)
		}
	}
	return n, err
}

// readError passes apierr errors (from the S3 adapter) through and calls
// the rest Unavailable.
func readError(err error, name string) error {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return err
	}
	return apierr.Wrap(apierr.Unavailable, err, "reading %s", name)
}

// errSampleFull is returned once the byte limit cut the input.
var errSampleFull = errors.New("sample limit reached")

// limitedReader is io.LimitReader that remembers that it hit the limit.
type limitedReader struct {
	r   io.Reader
	n   int64
	hit bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.hit = true
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// csvReader reads records with a configurable delimiter, quote and escape.
type csvReader struct {
	r    *bufio.Reader
	opts *CSVOptions
	lim  *limitedReader
	line int  // current line (1-based once reading starts)
	bom  bool // the BOM check is done
	buf  bytes.Buffer
}

func (c *csvReader) readByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == io.EOF && c.lim.hit {
		return 0, errSampleFull
	}
	if err != nil && err != io.EOF {
		var ae *apierr.Error
		if errors.As(err, &ae) {
			return 0, err
		}
		return 0, apierr.Wrap(apierr.Unavailable, err, "reading CSV")
	}
	return b, err
}

// record returns the next record and the line it starts on; blank lines
// are skipped. io.EOF at the end, errSampleFull when the byte limit cut it.
func (c *csvReader) record() ([]string, int, error) {
	if !c.bom {
		c.bom = true
		if b, err := c.r.Peek(3); err == nil && bytes.Equal(b, []byte{0xef, 0xbb, 0xbf}) {
			c.r.Discard(3)
		}
	}
	for {
		c.line++
		start := c.line
		b, err := c.readByte()
		if err != nil {
			return nil, start, err
		}
		if b == '\n' {
			continue // blank line
		}
		if b == '\r' {
			if nb, err := c.r.Peek(1); err == nil && nb[0] == '\n' {
				c.r.Discard(1)
			}
			continue
		}
		rec, err := c.fields(b)
		return rec, start, err
	}
}

// fields reads the rest of a record whose first byte is first.
func (c *csvReader) fields(first byte) ([]string, error) {
	var rec []string
	o := c.opts
	b := first
	var err error
	for {
		c.buf.Reset()
		quoted := false
		if b == o.Quote {
			quoted = true
			// quoted field
			for {
				b, err = c.readByte()
				if err == io.EOF {
					return nil, errors.New("unterminated quoted field")
				}
				if err != nil {
					return nil, err
				}
				if o.Escape != 0 && b == o.Escape {
					nb, err := c.readByte()
					if err == io.EOF {
						return nil, errors.New("unterminated quoted field")
					}
					if err != nil {
						return nil, err
					}
					c.buf.WriteByte(nb)
					continue
				}
				if b == o.Quote {
					nb, err := c.r.Peek(1)
					if err == nil && nb[0] == o.Quote {
						c.r.Discard(1)
						c.buf.WriteByte(o.Quote)
						continue
					}
					break
				}
				if b == '\n' {
					c.line++
				}
				c.buf.WriteByte(b)
			}
			b, err = c.readByte()
		}
		// unquoted field, or the rest after a closing quote (kept as text)
		for err == nil && b != o.Delimiter && b != '\n' && b != '\r' {
			if !quoted || b != o.Quote {
				c.buf.WriteByte(b)
			}
			b, err = c.readByte()
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if !utf8.Valid(c.buf.Bytes()) {
			return nil, errors.New("field is not valid UTF-8")
		}
		rec = append(rec, c.buf.String())
		if err == io.EOF || b == '\n' {
			return rec, nil
		}
		if b == '\r' {
			if nb, err := c.r.Peek(1); err == nil && nb[0] == '\n' {
				c.r.Discard(1)
			}
			return rec, nil
		}
		// delimiter: next field
		b, err = c.readByte()
		if err == io.EOF || (err == nil && (b == '\n' || b == '\r')) {
			rec = append(rec, "")
			if b == '\r' {
				if nb, err := c.r.Peek(1); err == nil && nb[0] == '\n' {
					c.r.Discard(1)
				}
			}
			return rec, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
