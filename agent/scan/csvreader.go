package scan

import (
	"bytes"
	"io"

	"github.com/nscale/nscale/internal/apierr"
)

// csvReader splits a CSV stream into records with the dialect of the
// control plane's schema inference (controlplane/schema), so that a file
// is read as it was inferred: a field that starts with the quote is
// quoted, a doubled quote inside quotes is one quote, text after the
// closing quote belongs to the field (further quotes there are dropped),
// a quote inside an unquoted field is kept, and CRLF, LF or CR end a
// record. encoding/csv (under arrow/csv) has a fixed quote, no bound on a
// record and no line numbers for values, hence this reader.
type csvReader struct {
	in    *textInput
	quote byte
	max   int
	line  int // lines started so far
	bom   bool
	// rec holds the current record's field bytes back to back; ends[i] is
	// the end of field i in rec.
	rec  []byte
	ends []int
	// Bytes that end a run of plain field bytes.
	stopPlain, stopAfterQuote, stopQuoted [256]bool
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

func newCSVReader(in *textInput, o CSVOptions) *csvReader {
	c := &csvReader{in: in, quote: o.Quote, max: o.MaxRecordBytes}
	for _, b := range []byte{o.Delimiter, '\n', '\r'} {
		c.stopPlain[b] = true
		c.stopAfterQuote[b] = true
	}
	c.stopAfterQuote[o.Quote] = true
	c.stopQuoted[o.Quote] = true
	c.stopQuoted['\n'] = true
	return c
}

// field returns field i of the current record.
func (c *csvReader) field(i int) []byte {
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.rec[start:c.ends[i]]
}

// record reads the next record and returns the line it starts on; blank
// lines are skipped. io.EOF at the end of the input.
func (c *csvReader) record() (int, error) {
	in := c.in
	if !c.bom {
		c.bom = true
		if in.fill() && bytes.HasPrefix(in.buf[in.pos:in.end], utf8BOM) {
			in.pos += len(utf8BOM)
		}
	}
	for {
		if !in.fill() {
			if err := in.readErr(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		c.line++
		start := c.line
		switch in.buf[in.pos] {
		case '\n':
			in.pos++
			continue
		case '\r':
			in.pos++
			c.skipLF()
			continue
		}
		return start, c.fields(start)
	}
}

func (c *csvReader) skipLF() {
	if c.in.fill() && c.in.buf[c.in.pos] == '\n' {
		c.in.pos++
	}
}

// fields reads the fields of the record that starts at the input's
// position.
func (c *csvReader) fields(start int) error {
	in := c.in
	c.rec, c.ends = c.rec[:0], c.ends[:0]
	for {
		stop := &c.stopPlain
		if in.fill() && in.buf[in.pos] == c.quote {
			in.pos++
			stop = &c.stopAfterQuote
			if err := c.quoted(start); err != nil {
				return err
			}
		}
		// The unquoted field, or the rest of a quoted one.
		for {
			if err := c.copyUntil(stop, start); err != nil {
				return err
			}
			if !in.fill() || in.buf[in.pos] != c.quote {
				break
			}
			in.pos++ // a quote after the closing quote is dropped
		}
		if err := in.readErr(); err != nil {
			return err
		}
		c.ends = append(c.ends, len(c.rec))
		if !in.fill() {
			return in.readErr() // the input ends the record
		}
		b := in.buf[in.pos]
		in.pos++
		switch b {
		case '\n':
			return nil
		case '\r':
			c.skipLF()
			return nil
		}
		// A delimiter: another field follows, empty at the end of the line.
	}
}

// quoted reads a quoted field after its opening quote, up to and
// including the closing quote.
func (c *csvReader) quoted(start int) error {
	in := c.in
	for {
		if err := c.copyUntil(&c.stopQuoted, start); err != nil {
			return err
		}
		if !in.fill() {
			if err := in.readErr(); err != nil {
				return err
			}
			return apierr.New(apierr.InvalidArgument, "corrupt CSV at line %d: unterminated quoted field", start)
		}
		b := in.buf[in.pos]
		in.pos++
		if b == '\n' {
			c.line++
			c.rec = append(c.rec, b)
			continue
		}
		// A quote: doubled it is one quote, else it closes the field.
		if in.fill() && in.buf[in.pos] == c.quote {
			in.pos++
			c.rec = append(c.rec, b)
			continue
		}
		return nil
	}
}

// copyUntil appends input bytes to the record up to (not including) the
// next byte in stop, or to the end of the input.
func (c *csvReader) copyUntil(stop *[256]bool, start int) error {
	in := c.in
	for in.fill() {
		seg := in.buf[in.pos:in.end]
		i := 0
		for i < len(seg) && !stop[seg[i]] {
			i++
		}
		c.rec = append(c.rec, seg[:i]...)
		in.pos += i
		if len(c.rec) > c.max {
			return apierr.New(apierr.InvalidArgument, "corrupt CSV at line %d: a record longer than %d bytes", start, c.max)
		}
		if i < len(seg) {
			return nil
		}
	}
	return nil
}
