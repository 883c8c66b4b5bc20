package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
)

// fuzzScan runs scan over data and checks what must hold for any input:
// no panic, batches of the requested schema within the batch size, an
// error that is a caller-safe InvalidArgument (or FailedPrecondition), and
// no leaked memory. It returns the rows and the error.
func fuzzScan(t *testing.T, scan scanFunc, data []byte, columns []Column) (int64, [][]string, error) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var n int64
	var rows [][]string
	err := scan(context.Background(), bytes.NewReader(data), int64(len(data)), columns, mem, func(rec arrow.RecordBatch) error {
		if int(rec.NumCols()) != len(columns) || rec.NumRows() == 0 || rec.NumRows() > 7 {
			t.Fatalf("batch of %d columns and %d rows", rec.NumCols(), rec.NumRows())
		}
		for i, c := range columns {
			if !arrow.TypeEqual(rec.Column(i).DataType(), c.Type) {
				t.Fatalf("column %s is %s, want %s", c.Name, rec.Column(i).DataType(), c.Type)
			}
		}
		if err := array.ValidateRecordFull(rec); err != nil {
			t.Fatalf("invalid batch: %v", err)
		}
		for r := range int(rec.NumRows()) {
			row := make([]string, len(columns))
			for c := range columns {
				row[c] = cell(rec.Column(c), r)
			}
			rows = append(rows, row)
		}
		n += rec.NumRows()
		return nil
	})
	if err != nil {
		if code := apierr.CodeOf(err); code != apierr.InvalidArgument && code != apierr.FailedPrecondition {
			t.Fatalf("err = %v (%s), want InvalidArgument", err, code)
		}
	}
	return n, rows, err
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte(allTypesCSV), true, byte(','), byte('"'))
	f.Add([]byte("1,2\n\"a\"\"b\",\"c\nd\"\r\n"), false, byte(','), byte('"'))
	f.Add([]byte("a;b\n'x;y';'it''s'\n"), true, byte(';'), byte('\''))
	f.Fuzz(func(t *testing.T, data []byte, header bool, delim, quote byte) {
		if delim == quote || delim >= 0x80 || quote >= 0x80 || delim == '\n' || delim == '\r' || quote == '\n' || quote == '\r' || delim == 0 || quote == 0 {
			return
		}
		opts := CSVOptions{Header: header, Delimiter: delim, Quote: quote, TextOptions: TextOptions{BatchSize: 7, MaxRecordBytes: 1 << 12}}
		var cols []Column
		for _, c := range allTypes {
			name := c[0]
			if !header {
				name = "_c" + string(rune('0'+len(cols)%10))
				if len(cols) >= 10 {
					break
				}
			}
			cols = append(cols, col(t, name, c[1]))
		}
		fuzzScan(t, csvScanner(opts), data, cols)
		// Every column as a string: only the structure can fail.
		for i := range cols {
			cols[i] = col(t, cols[i].Name, "string")
		}
		fuzzScan(t, csvScanner(opts), data, cols[:2])
		fuzzScan(t, csvScanner(opts), data, nil)
	})
}

func FuzzJSON(f *testing.F) {
	f.Add([]byte(allTypesJSON))
	f.Add([]byte(`{"st":{"x":1,"y":["a",null]},"s":{"k":[1,"two"]}}` + "\n" + `{"s":"\ud83c\udf0d\u00e9\ud800x"}`))
	f.Add([]byte("\xef\xbb\xbf{\"a\":1}\r\n\n{\"a\":[1,{\"b\":2}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := JSONOptions{TextOptions{BatchSize: 7, MaxRecordBytes: 1 << 12}}
		cols := allTypeColumns(t)
		cols = append(cols, col(t, "st", "struct<x:int32,y:list<string>>"), col(t, "l", "list<struct<a:int64>>"))
		fuzzScan(t, jsonScanner(opts), data, cols)

		if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			return // gzip: the differential below reads the bytes as text
		}
		// Differential, against encoding/json: a count-only scan succeeds
		// exactly when every non-blank line is a JSON object, and a
		// string column holds the key's string or its compact JSON text.
		n, _, err := fuzzScan(t, jsonScanner(opts), data, nil)
		lines := bytes.Split(data, []byte("\n"))
		objects := 0
		valid := len(lines) == 0 || len(lines[len(lines)-1]) <= opts.MaxRecordBytes
		var want [][]string
		for i, line := range lines {
			if len(line) > opts.MaxRecordBytes {
				valid = false
			}
			line = bytes.TrimSpace(line)
			if i == 0 {
				line = bytes.TrimPrefix(line, utf8BOM)
			}
			if len(line) == 0 {
				continue
			}
			var m map[string]json.RawMessage
			if !json.Valid(line) || line[0] != '{' || json.Unmarshal(line, &m) != nil {
				valid = false
				continue
			}
			objects++
			raw, ok := m["s"]
			switch {
			case !ok || string(raw) == "null":
				want = append(want, []string{"NULL"})
			case raw[0] == '"':
				var s string
				json.Unmarshal(raw, &s)
				want = append(want, []string{s})
			default:
				var b bytes.Buffer
				json.Compact(&b, raw)
				want = append(want, []string{b.String()})
			}
		}
		deep := err != nil && bytes.Contains([]byte(err.Error()), []byte("deeper than"))
		if !deep && (err == nil) != valid {
			t.Fatalf("scan err = %v, encoding/json says valid=%v", err, valid)
		}
		if err == nil && n != int64(objects) {
			t.Fatalf("%d rows, want %d", n, objects)
		}
		if err != nil {
			return
		}
		_, rows, err := fuzzScan(t, jsonScanner(opts), data, []Column{col(t, "s", "string")})
		if err != nil {
			if !bytes.Contains([]byte(err.Error()), []byte("appears twice")) {
				t.Fatalf("string column: %v", err)
			}
			return
		}
		if len(rows) != len(want) {
			t.Fatalf("%d rows, want %d", len(rows), len(want))
		}
		for i := range want {
			if rows[i][0] != want[i][0] {
				t.Fatalf("row %d: %q, encoding/json %q", i, rows[i][0], want[i][0])
			}
		}
	})
}
