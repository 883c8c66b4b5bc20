package scan

import (
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/apierr"
)

const allTypesJSON = `{"b":true,"i8":-128,"i16":-32768,"i32":-2147483648,"i64":-9223372036854775808,"u8":255,"u16":65535,"u32":4294967295,"u64":18446744073709551615,` +
	`"f32":1.5,"f64":-2.25e3,"d":-12345678.90,"s":"héllo 🌍, \"world\"","bin":"aGk=","dt":"2024-05-06","ts":"2024-05-06 12:34:56.123456",` +
	`"tsz":"2024-05-06T12:34:56.5+02:00","tsn":"1900-01-01T00:00:00.000000001Z","tss":"2024-05-06"}` + "\n" +
	// Scalars as strings, spelled as in CSV; keys in another order; extra keys.
	`{"extra":{"a":[1,{"b":null}]},"tss":"0001-01-01","b":"FALSE","i8":"+127","i16":32767,"i32":"2147483647","i64":9223372036854775807,"u8":0,"u16":"00","u32":0,"u64":"0",` +
	`"f32":"NaN","f64":"Infinity","d":".050","s":"multi\nline","bin":"","dt":"1970-01-01","ts":"1999-12-31t23:59",` +
	`"tsz":"1970-01-01 00:00:00Z","tsn":"1970-01-01 01:00+01:00","more":"x"}` + "\n" +
	"{}\n" +
	`{"b":null,"i8":null,"i16":null,"i32":null,"i64":null,"u8":null,"u16":null,"u32":null,"u64":null,"f32":null,"f64":null,"d":"",` +
	`"s":null,"bin":null,"dt":"","ts":null,"tsz":null,"tsn":null,"tss":null}`

func TestJSONAllTypes(t *testing.T) {
	rows, batches, err := scanText(t, jsonScanner(JSONOptions{}), []byte(allTypesJSON), allTypeColumns(t))
	if err != nil {
		t.Fatal(err)
	}
	if batches != 1 {
		t.Errorf("%d batches, want 1", batches)
	}
	checkRows(t, rows, [][]string{allTypesWant[0], allTypesWant[1], allTypesWant[2], allTypesWant[2]})
}

func TestJSONNested(t *testing.T) {
	data := `{"st":{"x":1,"y":["a",null,"b"]},"l":[{"a":1,"b":true},{"a":null},null],"m":"text"}` + "\n" +
		`{"st":{"y":[]},"l":[],"m":42.50}` + "\n" +
		`{"st":null,"l":null,"m":{"k": [1, "two", null]}}` + "\n" +
		`{"m":true}` + "\n" +
		`{"st":{"x":2,"extra":{"deep":[1]}},"m":null, "l":[{"b":false,"zz":1}]}` + "\n" +
		`{"m":[ 1 , 2 ]}`
	cols := []Column{col(t, "st", "struct<x:int32,y:list<string>>"), col(t, "l", "list<struct<a:int64,b:bool>>"), col(t, "m", "string")}
	rows, _, err := scanText(t, jsonScanner(JSONOptions{}), []byte(data), cols)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, [][]string{
		{`{"x":1,"y":["a",null,"b"]}`, `[{"a":1,"b":true},{"a":null,"b":null},null]`, "text"},
		{`{"x":null,"y":[]}`, `[]`, "42.50"},
		{"NULL", "NULL", `{"k":[1,"two",null]}`},
		{"NULL", "NULL", "true"},
		{`{"x":2,"y":null}`, `[{"a":null,"b":false}]`, "NULL"},
		{"NULL", "NULL", "[1,2]"},
	})
}

func TestJSONDialect(t *testing.T) {
	tests := []struct {
		name string
		data string
		want [][]string
	}{
		{"BOM, CRLF, blank and white lines, no final newline",
			"\xef\xbb\xbf{\"a\":\"1\"}\r\n\r\n   \n\t{\"a\":\"2\"}  \n{\"a\":\"3\"}",
			[][]string{{"1"}, {"2"}, {"3"}}},
		{"escapes and unicode", `{"a":"\u00e9\ud83c\udf0d\n\"\\"}` + "\n" + `{"a":"日本語"}`,
			[][]string{{"é🌍\n\"\\"}, {"日本語"}}},
		{"a duplicate key of another column is ignored", `{"b":1,"b":2,"a":"x"}`, [][]string{{"x"}}},
		{"keys match exactly", `{"A":"upper","a":"lower"}`, [][]string{{"lower"}}},
		{"empty file", "", nil},
		{"blank lines only", "\n\n  \r\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, batches, err := scanText(t, jsonScanner(JSONOptions{}), []byte(tc.data), []Column{col(t, "a", "string")})
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

func TestJSONErrors(t *testing.T) {
	cols := [][2]string{{"a", "int64"}, {"s", "string"}, {"st", "struct<x:int32,y:list<date32>>"}, {"d", "decimal128(5,1)"}, {"t", "timestamp(us)"}, {"bin", "binary"}}
	tests := []struct {
		name   string
		data   string
		secret string
		want   []string
	}{
		{"truncated", "{\"a\":1}\n{\"a\":2,\"s\":", "", []string{"line 2", "truncated"}},
		{"truncated in a nested value", "{\"st\":{\"y\":[\"2024-01-01\"", "", []string{"line 1", "truncated"}},
		{"truncated in a skipped value", "\n{\"zz\":[1,2", "", []string{"line 2", "truncated"}},
		{"not an object", "{\"a\":1}\n[1,2]\n", "", []string{"line 2", "not a JSON object"}},
		{"a string", "\"hunter2\"\n", "hunter2", []string{"line 1", "not a JSON object"}},
		{"two values", "{\"a\":1} {\"a\":2}\n", "", []string{"line 1", "more than one JSON value"}},
		{"trailing garbage", "{\"a\":1} hunter2\n", "hunter2", []string{"line 1", "syntax error at byte"}},
		{"bad syntax", "{\"a\":tru}\n", "tru", []string{"line 1", "syntax error"}},
		{"duplicate key", "{\"a\":1,\"a\":2}\n", "", []string{"line 1", `column "a"`, "appears twice"}},
		{"object for an integer", "{\"a\":{\"x\":\"hunter2\"}}\n", "hunter2", []string{`column "a"`, "int64", "got a JSON object"}},
		{"boolean for an integer", "{\"a\":true}\n", "", []string{`column "a"`, "got a JSON boolean"}},
		{"fraction for an integer", "{\"a\":1.5}\n", "1.5", []string{`column "a"`, "want an integer"}},
		{"integer out of range", "{\"a\":9223372036854775808}\n", "9223372036854775808", []string{`column "a"`, "range of int64"}},
		{"bad integer string", "{\"a\":\"12x\"}\n", "12x", []string{`column "a"`}},
		{"exponent for a decimal", "{\"d\":1e3}\n", "", []string{`column "d"`, "decimal128(5,1)"}},
		{"decimal too precise", "{\"d\":1.25}\n", "1.25", []string{`column "d"`, "1 after the point"}},
		{"number for a timestamp", "{\"t\":1714998896}\n", "1714998896", []string{`column "t"`, "got a JSON number"}},
		{"bad nested field", "\n\n{\"st\":{\"x\":\"hunter2\"}}\n", "hunter2", []string{"line 3", `column "st.x"`, "int32"}},
		{"bad list element", "{\"st\":{\"y\":[\"2024-01-01\",\"2024-13-01\"]}}\n", "2024-13", []string{`column "st.y[]"`, "date32", "YYYY-MM-DD"}},
		{"array for a struct", "{\"st\":[1]}\n", "", []string{`column "st"`, "got a JSON array"}},
		{"string for a struct", "{\"st\":\"hunter2\"}\n", "hunter2", []string{`column "st"`, "got a JSON string"}},
		{"number for binary", "{\"bin\":12}\n", "", []string{`column "bin"`, "got a JSON number"}},
		{"unpadded base64", "{\"bin\":\"aGk\"}\n", "aGk", []string{`column "bin"`, "base64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cs []Column
			for _, c := range cols {
				cs = append(cs, col(t, c[0], c[1]))
			}
			_, _, err := scanText(t, jsonScanner(JSONOptions{}), []byte(tc.data), cs)
			t.Logf("%v", err)
			checkErr(t, err, apierr.InvalidArgument, tc.secret, tc.want...)
		})
	}
}

func TestJSONLineTooLong(t *testing.T) {
	opts := JSONOptions{TextOptions{MaxRecordBytes: 100}}
	data := "{\"a\":\"x\"}\n{\"a\":\"" + strings.Repeat("x", 1000) + "\"}\n"
	_, _, err := scanText(t, jsonScanner(opts), []byte(data), []Column{col(t, "a", "string")})
	checkErr(t, err, apierr.InvalidArgument, "", "line 2", "longer than 100 bytes")
	// Also when the line ends the file without a newline, or is cut
	// across reads of the input.
	_, _, err = scanText(t, jsonScanner(opts), []byte(strings.Repeat(" ", 200)), []Column{col(t, "a", "string")})
	checkErr(t, err, apierr.InvalidArgument, "", "line 1", "longer than 100 bytes")
}
