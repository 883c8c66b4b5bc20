package scan

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
)

// CSVOptions control a CSV scan. They come from the task's format options
// (ParseCSVOptions), which are the table's TBLPROPERTIES that the control
// plane validated and inferred the columns with.
type CSVOptions struct {
	TextOptions
	// Header says the first record names the columns (default true).
	// Columns are then found by their exact header name; an empty header
	// name is _c<position> (from 0), as schema inference names it.
	// Without a header a column is found by its position in FileColumns,
	// or else by a name _c<position>.
	Header bool
	// Delimiter separates fields (default ','); Quote encloses fields that
	// hold delimiters, quotes or line breaks (default '"'), and a doubled
	// quote inside quotes is one quote. Both are single ASCII bytes other
	// than CR and LF, and differ.
	Delimiter, Quote byte
}

// ParseCSVOptions reads a task's format options: "header" (true or false),
// "delimiter", "quote" and FormatOptionColumns. An unknown option is
// FailedPrecondition: it may change how the file is read, so the agent
// refuses rather than ignore it.
func ParseCSVOptions(opts map[string]string) (CSVOptions, error) {
	o := CSVOptions{Header: true, Delimiter: ',', Quote: '"'}
	for k, v := range opts {
		switch k {
		case "header":
			h, err := strconv.ParseBool(v)
			if err != nil {
				return o, apierr.New(apierr.InvalidArgument, "format option header=%q: want true or false", v)
			}
			o.Header = h
		case "delimiter", "quote":
			if len(v) != 1 || v[0] >= 0x80 || v[0] == '\r' || v[0] == '\n' {
				return o, apierr.New(apierr.InvalidArgument, "format option %s=%q: want one ASCII character other than CR and LF", k, v)
			}
			if k == "delimiter" {
				o.Delimiter = v[0]
			} else {
				o.Quote = v[0]
			}
		case FormatOptionColumns:
			cols, err := parseFileColumns(v)
			if err != nil {
				return o, err
			}
			o.FileColumns = cols
		default:
			return o, apierr.New(apierr.FailedPrecondition, "CSV format option %q is not supported by this agent", k)
		}
	}
	if o.Delimiter == o.Quote {
		return o, apierr.New(apierr.InvalidArgument, "CSV delimiter and quote must differ")
	}
	return o, nil
}

// CSV reads the CSV object of size bytes behind r and calls fn with each
// record batch of the requested columns, in that order, with their types
// (see textAppender for the accepted values); an empty field is NULL.
// The object is read front to back in ReadAhead ranged reads, gzip is
// decompressed, a UTF-8 byte order mark is skipped, CRLF, LF and CR end
// lines, and blank lines are skipped, as schema inference reads CSV. A
// batch is released when fn returns; an error from fn stops the scan and
// is returned unchanged. With no columns, batches without columns count
// the rows.
//
// Errors are InvalidArgument and name the line (and for a value the
// column, never the value): a requested column missing from the header,
// a record with a different number of fields than the header (or the
// first record), an unterminated quote, a record longer than
// MaxRecordBytes, a value its column's type cannot hold. An error of r is
// returned wrapped with its code; ctx's error when ctx is cancelled.
func CSV(ctx context.Context, r io.ReaderAt, size int64, columns []Column, opts CSVOptions, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	if err := checkColumns(columns); err != nil {
		return err
	}
	for _, c := range columns {
		if _, ok := c.Type.(arrow.NestedType); ok {
			return apierr.New(apierr.FailedPrecondition, "column %q is %s, which CSV cannot hold", c.Name, typeName(c.Type))
		}
	}
	if opts.Delimiter == 0 {
		opts.Delimiter = ','
	}
	if opts.Quote == 0 {
		opts.Quote = '"'
	}
	if opts.Delimiter == opts.Quote {
		return apierr.New(apierr.InvalidArgument, "CSV delimiter and quote must differ")
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
	conv := make([]appendText, len(columns))
	for i := range columns {
		if conv[i], err = textAppender(b.bld.Field(i)); err != nil {
			return apierr.New(apierr.FailedPrecondition, "column %q: %s", columns[i].Name, apierr.PublicMessage(err))
		}
	}
	s := &csvScan{rd: newCSVReader(newTextInput(text, textSize), opts), opts: opts, columns: columns, conv: conv, b: b}
	if err := s.run(); err != nil {
		return err
	}
	return b.flush()
}

type csvScan struct {
	rd      *csvReader
	opts    CSVOptions
	columns []Column
	conv    []appendText
	b       *batcher
	pos     []int // field index of each requested column
	nfields int   // fields every record has; 0 until known
	what    string
}

func (s *csvScan) run() error {
	for {
		line, err := s.rd.record()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if s.pos == nil {
			if err := s.locate(line); err != nil {
				return err
			}
			if s.opts.Header {
				continue
			}
		}
		if n := len(s.rd.ends); n != s.nfields {
			return apierr.New(apierr.InvalidArgument, "corrupt CSV at line %d: the record has %d fields, %s has %d", line, n, s.what, s.nfields)
		}
		for i, p := range s.pos {
			v := s.rd.field(p)
			if len(v) == 0 {
				s.b.bld.Field(i).AppendNull()
				continue
			}
			if err := s.conv[i](v); err != nil {
				return apierr.New(apierr.InvalidArgument, "invalid CSV value at line %d, column %q (%s): %v", line, s.columns[i].Name, typeName(s.columns[i].Type), err)
			}
		}
		if err := s.b.rowDone(len(s.rd.rec)); err != nil {
			return err
		}
	}
}

// locate finds the requested columns' fields from the first record.
func (s *csvScan) locate(line int) error {
	s.pos = make([]int, len(s.columns))
	s.nfields = len(s.rd.ends)
	if s.opts.Header {
		s.what = fmt.Sprintf("the header (line %d)", line)
		index := make(map[string]int, s.nfields)
		count := make(map[string]int, s.nfields)
		for i := range s.nfields {
			name := string(s.rd.field(i))
			if name == "" {
				name = "_c" + strconv.Itoa(i)
			}
			index[name] = i
			count[name]++
		}
		for i, c := range s.columns {
			switch count[c.Name] {
			case 0:
				return apierr.New(apierr.InvalidArgument, "column %q not found in the CSV header", c.Name)
			case 1:
				s.pos[i] = index[c.Name]
			default:
				return apierr.New(apierr.InvalidArgument, "column %q is ambiguous: the CSV header names it %d times", c.Name, count[c.Name])
			}
		}
		return nil
	}
	s.what = fmt.Sprintf("line %d", line)
	if fc := s.opts.FileColumns; fc != nil {
		s.what = "the table"
		s.nfields = len(fc)
		index := make(map[string]int, len(fc))
		for i, c := range fc {
			index[c.Name] = i
		}
		for i, c := range s.columns {
			p, ok := index[c.Name]
			if !ok {
				return apierr.New(apierr.InvalidArgument, "column %q is not among the table's file columns", c.Name)
			}
			s.pos[i] = p
		}
		return nil
	}
	for i, c := range s.columns {
		p, ok := positionalName(c.Name)
		if !ok {
			return apierr.New(apierr.FailedPrecondition,
				"column %q: a CSV file without a header is read by position, and the task does not carry the table's column order (format option %q)", c.Name, FormatOptionColumns)
		}
		if p >= s.nfields {
			return apierr.New(apierr.InvalidArgument, "column %q not found: the CSV records have %d fields", c.Name, s.nfields)
		}
		s.pos[i] = p
	}
	return nil
}

// positionalName reads the names _c0, _c1, ... that schema inference
// gives the columns of a CSV file without a header.
func positionalName(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "_c")
	if !ok || digits == "" || (len(digits) > 1 && digits[0] == '0') || len(digits) > 6 {
		return 0, false
	}
	p, err := strconv.Atoi(digits)
	return p, err == nil && p >= 0
}
