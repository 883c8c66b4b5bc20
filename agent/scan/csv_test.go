package scan

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
)

// allTypes is one column of every scalar catalog type.
var allTypes = [][2]string{
	{"b", "bool"}, {"i8", "int8"}, {"i16", "int16"}, {"i32", "int32"}, {"i64", "int64"},
	{"u8", "uint8"}, {"u16", "uint16"}, {"u32", "uint32"}, {"u64", "uint64"},
	{"f32", "float32"}, {"f64", "float64"}, {"d", "decimal128(10,2)"}, {"s", "string"}, {"bin", "binary"},
	{"dt", "date32"}, {"ts", "timestamp(us)"}, {"tsz", "timestamp(ms,UTC)"}, {"tsn", "timestamp(ns,Europe/Paris)"}, {"tss", "timestamp(s)"},
}

func allTypeColumns(t *testing.T) []Column {
	var cols []Column
	for _, c := range allTypes {
		cols = append(cols, col(t, c[0], c[1]))
	}
	return cols
}

// The rows of allTypesCSV and allTypesJSON, as cell renders them.
var allTypesWant = [][]string{
	{"true", "-128", "-32768", "-2147483648", "-9223372036854775808", "255", "65535", "4294967295", "18446744073709551615",
		"1.5", "-2250", "-12345678.90", "héllo 🌍, \"world\"", `"hi"`, "2024-05-06", "1714998896123456", "1714991696500", "-2208988799999999999", "1714953600"},
	{"false", "127", "32767", "2147483647", "9223372036854775807", "0", "0", "0", "0",
		"NaN", "+Inf", "0.05", "multi\nline", `""`, "1970-01-01", "946684740000000", "0", "0", "-62135596800"},
	{"NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
		"NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
}

const allTypesCSV = "b,i8,i16,i32,i64,u8,u16,u32,u64,f32,f64,d,s,bin,dt,ts,tsz,tsn,tss\r\n" +
	"true,-128,-32768,-2147483648,-9223372036854775808,255,65535,4294967295,18446744073709551615," +
	"1.5,-2.25e3,-12345678.90,\"héllo 🌍, \"\"world\"\"\",aGk=,2024-05-06,2024-05-06 12:34:56.123456,2024-05-06T12:34:56.5+02:00,1900-01-01T00:00:00.000000001Z,2024-05-06\r\n" +
	"FALSE,+127,32767,2147483647,9223372036854775807,0,00,0,0," +
	"NaN,Infinity,.050,\"multi\nline\",,1970-01-01,1999-12-31t23:59,1970-01-01 00:00:00Z,1970-01-01 01:00+01:00,0001-01-01\r\n" +
	",,,,,,,,,,,,,,,,,,\r\n"

func TestCSVAllTypes(t *testing.T) {
	rows, batches, err := scanText(t, csvScanner(CSVOptions{Header: true}), []byte(allTypesCSV), allTypeColumns(t))
	if err != nil {
		t.Fatal(err)
	}
	if batches != 1 {
		t.Errorf("%d batches, want 1", batches)
	}
	// binary: "aGk=" is "hi"; the empty field is NULL, so row 2 has "".
	want := [][]string{allTypesWant[0], allTypesWant[1], allTypesWant[2]}
	want[1] = append([]string(nil), want[1]...)
	want[1][13] = "NULL"
	checkRows(t, rows, want)
}

func TestCSVDialect(t *testing.T) {
	tests := []struct {
		name string
		opts CSVOptions
		data string
		cols []string // string columns
		want [][]string
	}{
		{"quotes, delimiters and newlines in fields", CSVOptions{Header: true},
			"a,b\n\"x,y\",\"line1\nline2\"\n\"say \"\"hi\"\"\",plain \"quote\" kept\n",
			[]string{"a", "b"}, [][]string{{"x,y", "line1\nline2"}, {`say "hi"`, `plain "quote" kept`}}},
		{"BOM, CRLF, CR, blank lines, no final newline", CSVOptions{Header: true},
			"\xef\xbb\xbfa,b\r\n\r\n1,2\r3,4\n\n\n5,6",
			[]string{"a", "b"}, [][]string{{"1", "2"}, {"3", "4"}, {"5", "6"}}},
		{"text after the closing quote", CSVOptions{Header: true},
			"a,b\n\"ab\"cd\"e,x\n",
			[]string{"a", "b"}, [][]string{{"abcde", "x"}}},
		{"trailing delimiter is an empty field", CSVOptions{Header: true},
			"a,b\n1,\n2,\"\"\n",
			[]string{"a", "b"}, [][]string{{"1", "NULL"}, {"2", "NULL"}}},
		{"semicolon and single quote", CSVOptions{Header: true, Delimiter: ';', Quote: '\''},
			"a;b\n'x;y';\"z\"\n'it''s';ü\n",
			[]string{"a", "b"}, [][]string{{"x;y", `"z"`}, {"it's", "ü"}}},
		{"tab", CSVOptions{Header: true, Delimiter: '\t'},
			"a\tb\nx y\t,\n",
			[]string{"b", "a"}, [][]string{{",", "x y"}}},
		{"projection reorders, empty header name is _c<i>", CSVOptions{Header: true},
			"a,b,\n1,2,3\n",
			[]string{"_c2", "a"}, [][]string{{"3", "1"}}},
		{"no header: _c names", CSVOptions{Header: false},
			"1,2,3\n4,5,6\n",
			[]string{"_c2", "_c0"}, [][]string{{"3", "1"}, {"6", "4"}}},
		{"no header: file columns give positions", CSVOptions{Header: false, TextOptions: TextOptions{FileColumns: []Column{{Name: "x"}, {Name: "y"}, {Name: "z"}}}},
			"1,2,3\n",
			[]string{"z", "x"}, [][]string{{"3", "1"}}},
		{"empty file", CSVOptions{Header: true}, "", []string{"a"}, nil},
		{"header only", CSVOptions{Header: true}, "a,b\n", []string{"b"}, nil},
		{"blank lines only", CSVOptions{Header: true}, "\n\r\n\n", []string{"b"}, nil},
		{"empty file without header", CSVOptions{Header: false}, "", []string{"_c0"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cols []Column
			for _, c := range tc.cols {
				cols = append(cols, col(t, c, "string"))
			}
			rows, batches, err := scanText(t, csvScanner(tc.opts), []byte(tc.data), cols)
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, rows, tc.want)
			if len(tc.want) == 0 && batches != 0 {
				t.Errorf("%d batches for no rows", batches)
			}
		})
	}
}

func TestCSVErrors(t *testing.T) {
	hdr := CSVOptions{Header: true}
	tests := []struct {
		name   string
		opts   CSVOptions
		data   string
		cols   [][2]string
		code   apierr.Code
		secret string // must not be repeated
		want   []string
	}{
		{"missing column", hdr, "a,b\n1,2\n", [][2]string{{"a", "int64"}, {"secret_col", "int64"}}, apierr.InvalidArgument, "", []string{`"secret_col"`, "not found in the CSV header"}},
		{"missing column in an empty file is not noticed", hdr, "", [][2]string{{"zz", "int64"}}, "", "", nil},
		{"ambiguous column", hdr, "a,a\n1,2\n", [][2]string{{"a", "int64"}}, apierr.InvalidArgument, "", []string{`"a"`, "2 times"}},
		{"duplicate request", hdr, "a\n1\n", [][2]string{{"a", "int64"}, {"a", "int64"}}, apierr.InvalidArgument, "", []string{`"a"`}},
		{"no header, no order", CSVOptions{}, "1\n", [][2]string{{"id", "int64"}}, apierr.FailedPrecondition, "", []string{`"id"`, `"columns"`}},
		{"no header, beyond the fields", CSVOptions{}, "1,2\n", [][2]string{{"_c2", "int64"}}, apierr.InvalidArgument, "", []string{`"_c2"`, "2 fields"}},
		{"no header, not a file column", CSVOptions{TextOptions: TextOptions{FileColumns: []Column{{Name: "x"}}}}, "1\n", [][2]string{{"y", "int64"}}, apierr.InvalidArgument, "", []string{`"y"`}},
		{"struct column", hdr, "a\n1\n", [][2]string{{"a", "struct<x:int32>"}}, apierr.FailedPrecondition, "", []string{`"a"`}},
		{"too many fields", hdr, "a,b\n1,2\n3,4,5\n", [][2]string{{"a", "int64"}}, apierr.InvalidArgument, "", []string{"line 3", "has 3 fields", "header (line 1) has 2"}},
		{"too few fields after a quoted newline", hdr, "a,b\n\"1\n\",2\n\n3\n", [][2]string{{"a", "string"}}, apierr.InvalidArgument, "", []string{"line 5", "has 1 fields"}},
		{"fields differ from the file columns", CSVOptions{TextOptions: TextOptions{FileColumns: []Column{{Name: "x"}, {Name: "y"}}}}, "1\n", [][2]string{{"x", "int64"}}, apierr.InvalidArgument, "", []string{"line 1", "the table has 2"}},
		{"unterminated quote", hdr, "a\n\"abc\nd\n", [][2]string{{"a", "string"}}, apierr.InvalidArgument, "", []string{"line 2", "unterminated quoted field"}},
		{"bad int", hdr, "a,b\n1,2\n\n\"x\ny\",77777\n", [][2]string{{"a", "string"}, {"b", "int16"}}, apierr.InvalidArgument, "77777", []string{"line 4", `column "b"`, "int16"}},
		{"bad uint", hdr, "u\n-1\n", [][2]string{{"u", "uint8"}}, apierr.InvalidArgument, "", []string{"line 2", `column "u"`, "uint8"}},
		{"uint with plus", hdr, "u\n+1\n", [][2]string{{"u", "uint32"}}, apierr.InvalidArgument, "", []string{`column "u"`}},
		{"bad bool", hdr, "b\nyes\n", [][2]string{{"b", "bool"}}, apierr.InvalidArgument, "yes", []string{"line 2", `column "b"`, "true or false"}},
		{"bad float", hdr, "f\n0x1p3\n", [][2]string{{"f", "float64"}}, apierr.InvalidArgument, "0x1p3", []string{`column "f"`, "decimal number"}},
		{"float32 overflow", hdr, "f\n1e39\n", [][2]string{{"f", "float32"}}, apierr.InvalidArgument, "1e39", []string{`column "f"`, "out of range"}},
		{"decimal scale", hdr, "d\n1.234\n", [][2]string{{"d", "decimal128(10,2)"}}, apierr.InvalidArgument, "1.234", []string{`column "d"`, "decimal128(10,2)", "2 after the point"}},
		{"decimal precision", hdr, "d\n123456789.5\n", [][2]string{{"d", "decimal128(10,2)"}}, apierr.InvalidArgument, "123456789", []string{`column "d"`}},
		{"decimal exponent", hdr, "d\n1e3\n", [][2]string{{"d", "decimal128(10,2)"}}, apierr.InvalidArgument, "", []string{`column "d"`}},
		{"bad date", hdr, "d\n2024-02-30\n", [][2]string{{"d", "date32"}}, apierr.InvalidArgument, "2024-02-30", []string{`column "d"`, "YYYY-MM-DD"}},
		{"bad timestamp", hdr, "t\n2024-05-06 25:00:00\n", [][2]string{{"t", "timestamp(us)"}}, apierr.InvalidArgument, "25:00", []string{`column "t"`, "timestamp(us)"}},
		{"fraction finer than the unit", hdr, "t\n2024-05-06 12:00:00.5\n", [][2]string{{"t", "timestamp(s)"}}, apierr.InvalidArgument, "", []string{`column "t"`, "finer"}},
		{"timestamp(ns) out of range", hdr, "t\n2300-01-01\n", [][2]string{{"t", "timestamp(ns)"}}, apierr.InvalidArgument, "", []string{`column "t"`, "out of range"}},
		{"bad base64", hdr, "b\nnot base64!\n", [][2]string{{"b", "binary"}}, apierr.InvalidArgument, "not base64", []string{`column "b"`, "base64"}},
		{"invalid UTF-8", hdr, "s\nab\xffcd\n", [][2]string{{"s", "string"}}, apierr.InvalidArgument, "", []string{`column "s"`, "UTF-8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cols []Column
			for _, c := range tc.cols {
				cols = append(cols, col(t, c[0], c[1]))
			}
			_, _, err := scanText(t, csvScanner(tc.opts), []byte(tc.data), cols)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Logf("%v", err)
			checkErr(t, err, tc.code, tc.secret, tc.want...)
		})
	}
}

func TestCSVRecordTooLong(t *testing.T) {
	opts := CSVOptions{Header: true, TextOptions: TextOptions{MaxRecordBytes: 100}}
	data := "a\n\"" + strings.Repeat("x", 1000) // an unterminated quote
	_, _, err := scanText(t, csvScanner(opts), []byte(data), []Column{col(t, "a", "string")})
	checkErr(t, err, apierr.InvalidArgument, "", "line 2", "longer than 100 bytes")
	rows, _, err := scanText(t, csvScanner(opts), []byte("a\n"+strings.Repeat("y", 100)+"\n"), []Column{col(t, "a", "string")})
	if err != nil || len(rows) != 1 {
		t.Fatalf("a record of exactly the limit: %v, %v", rows, err)
	}
}

func TestCSVBatches(t *testing.T) {
	var data bytes.Buffer
	data.WriteString("id,name\n")
	for i := range 10 {
		fmt.Fprintf(&data, "%d,n%d\n", i, i)
	}
	opts := CSVOptions{Header: true, TextOptions: TextOptions{BatchSize: 3}}
	for _, tc := range []struct {
		name string
		cols []Column
	}{
		{"columns", []Column{col(t, "name", "string"), col(t, "id", "int64")}},
		{"count only", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var sizes []int64
			var ids []string
			err := CSV(context.Background(), bytes.NewReader(data.Bytes()), int64(data.Len()), tc.cols, opts, mem, func(rec arrow.RecordBatch) error {
				sizes = append(sizes, rec.NumRows())
				if int(rec.NumCols()) != len(tc.cols) {
					t.Errorf("%d columns", rec.NumCols())
				}
				if len(tc.cols) > 0 {
					for r := range int(rec.NumRows()) {
						ids = append(ids, cell(rec.Column(1), r))
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(sizes) != "[3 3 3 1]" {
				t.Errorf("batch sizes %v, want [3 3 3 1]", sizes)
			}
			if len(tc.cols) > 0 && strings.Join(ids, ",") != "0,1,2,3,4,5,6,7,8,9" {
				t.Errorf("ids %v", ids)
			}
		})
	}
}
