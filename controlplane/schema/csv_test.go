package schema

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
)

func TestInferCSV(t *testing.T) {
	cases := []struct {
		name string
		data string
		opts CSVOptions
		want string // columns joined by ", "
	}{
		{"ints", "a,b\n1,-2\n30,+4\n", CSVOptions{Header: true}, "a int64 not null, b int64 not null"},
		{"int and float", "a\n1\n2.5\n", CSVOptions{Header: true}, "a float64 not null"},
		{"floats", "a\n1e3\n-.5\n0.25E-2\n", CSVOptions{Header: true}, "a float64 not null"},
		{"bools", "a,b\ntrue,FALSE\nFalse,true\n", CSVOptions{Header: true}, "a bool not null, b bool not null"},
		{"bool and int", "a\ntrue\n1\n", CSVOptions{Header: true}, "a string not null"},
		{"dates", "d\n2024-05-06\n1999-12-31\n", CSVOptions{Header: true}, "d date32 not null"},
		{"bad date", "d\n2024-05-06\n2024-02-30\n", CSVOptions{Header: true}, "d string not null"},
		{"timestamps", "t\n2024-05-06 10:11:12\n2024-05-06T10:11:12.123456\n", CSVOptions{Header: true}, "t timestamp(us) not null"},
		{"rfc3339", "t\n2024-05-06T10:11:12Z\n2024-05-06T10:11:12.5+02:00\n2024-05-06 10:11:12-0130\n", CSVOptions{Header: true}, "t timestamp(us,UTC) not null"},
		{"nanoseconds", "t\n2024-05-06 10:11:12.123456789\n2024-05-06 10:11:12\n", CSVOptions{Header: true}, "t timestamp(ns) not null"},
		{"date and timestamp", "t\n2024-05-06\n2024-05-06 10:11:12\n", CSVOptions{Header: true}, "t timestamp(us) not null"},
		{"naive and zoned", "t\n2024-05-06 10:11:12\n2024-05-06 10:11:12Z\n", CSVOptions{Header: true}, "t string not null"},
		{"bad time", "t\n2024-05-06 25:11:12\n", CSVOptions{Header: true}, "t string not null"},
		{"leading zeros", "zip,x\n02134,0\n10001,0.5\n", CSVOptions{Header: true}, "zip string not null, x float64 not null"},
		{"beyond int64", "id\n1\n99999999999999999999\n", CSVOptions{Header: true}, "id string not null"},
		{"words", "a\nNaN\ninf\n", CSVOptions{Header: true}, "a string not null"},
		{"nullable", "a,b\n1,\n,x\n3,y\n", CSVOptions{Header: true}, "a int64, b string"},
		{"all empty", "a,b\n,1\n,2\n", CSVOptions{Header: true}, "a string, b int64 not null"},
		{"header only", "a,b\n", CSVOptions{Header: true}, "a string, b string"},
		{"no header", "1,x\n2,y\n", CSVOptions{}, "_c0 int64 not null, _c1 string not null"},
		{"empty header name", "a,,c\n1,2,3\n", CSVOptions{Header: true}, "a int64 not null, _c1 int64 not null, c int64 not null"},
		{"names kept as written", "Order ID,amount €\n1,2\n", CSVOptions{Header: true}, `"Order ID" int64 not null, "amount €" int64 not null`},
		{"null values", "a\n\\N\n1\nNULL\n", CSVOptions{Header: true, NullValues: []string{`\N`, "NULL"}}, "a int64"},
		{"quoted", "a,b\n\"1\",\"x, \"\"y\"\"\nz\"\n2,\"\"\n", CSVOptions{Header: true}, "a int64 not null, b string"},
		{"semicolon and single quote", "a;b\n'1;2';3\n'x';4\n", CSVOptions{Header: true, Delimiter: ';', Quote: '\''}, "a string not null, b int64 not null"},
		{"tab", "a\tb\n1\t2.5\n", CSVOptions{Header: true, Delimiter: '\t'}, "a int64 not null, b float64 not null"},
		{"escape", "a,b\n\"x\\\"y\",1\n", CSVOptions{Header: true, Escape: '\\'}, "a string not null, b int64 not null"},
		{"crlf and bom", "\ufeffa,b\r\n1,2\r\n\r\n3,4\r\n", CSVOptions{Header: true}, "a int64 not null, b int64 not null"},
		{"no final newline", "a,b\n1,2", CSVOptions{Header: true}, "a int64 not null, b int64 not null"},
		{"trailing delimiter", "a,b\n1,\n", CSVOptions{Header: true}, "a int64 not null, b string"},
		{"blank lines", "\n\na\n\n1\n\n", CSVOptions{Header: true}, "a int64 not null"},
		{"sample rows", "a\n1\n2\nx\n", CSVOptions{Header: true, SampleRows: 2}, "a int64 not null"},
		{"sample bytes cut a record", "a\n1\n2\nxxxxxxxx\n", CSVOptions{Header: true, SampleBytes: 10}, "a int64 not null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cols, err := InferCSV(strings.NewReader(c.data), "file:///t/a.csv", c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(columnStrings(cols), ", "); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestInferCSVErrors(t *testing.T) {
	cases := []struct {
		name, data string
		opts       CSVOptions
		want       string
	}{
		{"ragged", "a,b\n1,2\n3\n", CSVOptions{Header: true}, "file:///t/a.csv line 3 has 1 fields, want 2"},
		{"ragged quoted newline", "a,b\n\"x\ny\",2\n3,4,5\n", CSVOptions{Header: true}, "line 4 has 3 fields"},
		{"duplicate header", "a,b,a\n1,2,3\n", CSVOptions{Header: true}, `line 1: columns 1 and 3 are both named "a"`},
		{"unterminated quote", "a\n\"xyz\n", CSVOptions{Header: true}, "line 2: unterminated quoted field"},
		{"empty", "", CSVOptions{Header: true}, "has no CSV records"},
		{"only blank lines", "\n\r\n", CSVOptions{}, "has no CSV records"},
		{"invalid UTF-8", "a\n\xff\n", CSVOptions{Header: true}, "not valid UTF-8"},
		{"bad options", "a\n", CSVOptions{Delimiter: '"'}, "must differ"},
		{"non-ASCII delimiter", "a\n", CSVOptions{Delimiter: 0xc3}, "ASCII"},
		{"corrupt gzip", "\x1f\x8bxxxxxxxxxxxxxxxxxxxxxx", CSVOptions{}, "corrupt gzip"},
	}
	for _, c := range cases {
		_, err := InferCSV(strings.NewReader(c.data), "file:///t/a.csv", c.opts)
		if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(apierr.PublicMessage(err), c.want) {
			t.Errorf("%s: %v, want InvalidArgument with %q", c.name, err, c.want)
		}
	}
}

func TestInferCSVGzipAndLimits(t *testing.T) {
	var plain strings.Builder
	plain.WriteString("id,price,day,note\n")
	for i := range 5000 {
		fmt.Fprintf(&plain, "%d,%d.%02d,2024-05-%02d,n%d\n", i, i, i%100, i%28+1, i)
	}
	plain.WriteString("oops,x,y,z\n") // beyond the default sample of 1,000 rows
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(plain.String()))
	zw.Close()
	cols, err := InferCSV(bytes.NewReader(gz.Bytes()), "s3://b/t/a.csv.gz", CSVOptions{Header: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "id int64 not null, price float64 not null, day date32 not null, note string not null"
	if got := strings.Join(columnStrings(cols), ", "); got != want {
		t.Errorf("got %s", got)
	}
	cols, err = InferCSV(strings.NewReader(plain.String()), "a.csv", CSVOptions{Header: true, SampleRows: 10000})
	if err != nil || cols[0].Type.String() != "string" {
		t.Errorf("whole file: %v %v", cols, err)
	}
}

// TestInferCSVArrowReads checks the inferred schema against Arrow's own CSV
// reader: it must parse the sample with the inferred types.
func TestInferCSVArrowReads(t *testing.T) {
	data := "id,price,ok,day,at,note\n" +
		"1,2.5,true,2024-05-06,2024-05-06 10:11:12,x\n" +
		"2,,false,,2024-05-06 10:11:12.5,\n" +
		"-3,1e3,TRUE,1999-12-31,1999-12-31 23:59:59,\"a,b\"\n"
	cols, err := InferCSV(strings.NewReader(data), "a.csv", CSVOptions{Header: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "id int64 not null, price float64, ok bool not null, day date32, at timestamp(us) not null, note string"
	if got := strings.Join(columnStrings(cols), ", "); got != want {
		t.Fatalf("got %s", got)
	}
	sc, err := ToArrow(cols)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := csv.NewReader(strings.NewReader(data), sc, csv.WithHeader(true), csv.WithNullReader(true, ""), csv.WithAllocator(mem))
	defer r.Release()
	rows := 0
	for r.Next() {
		rows += int(r.RecordBatch().NumRows())
	}
	if err := r.Err(); err != nil || rows != 3 {
		t.Errorf("Arrow's CSV reader with the inferred schema: %d rows, %v", rows, err)
	}
}
