package schema

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
)

func TestInferJSON(t *testing.T) {
	cases := []struct {
		name string
		data string
		opts JSONOptions
		want string
	}{
		{"scalars", `{"a": 1, "b": 1.5, "c": "x", "d": true}`, JSONOptions{}, "a int64 not null, b float64 not null, c string not null, d bool not null"},
		{"int widens to float", "{\"a\": 1}\n{\"a\": 2.5}\n{\"a\": 3e2}\n", JSONOptions{}, "a float64 not null"},
		{"beyond int64", `{"a": 18446744073709551616}`, JSONOptions{}, "a float64 not null"},
		{"null and missing", "{\"a\": 1, \"b\": null}\n{\"b\": \"x\"}\n", JSONOptions{}, "a int64, b string"},
		{"only null", `{"a": null}`, JSONOptions{}, "a string"},
		{"conflict", "{\"a\": 1}\n{\"a\": \"x\"}\n", JSONOptions{}, "a string not null"},
		{"conflict with object", "{\"a\": {\"x\": 1}}\n{\"a\": [1]}\n", JSONOptions{}, "a string not null"},
		{"key order", "{\"b\": 1}\n{\"a\": 2, \"b\": 3}\n", JSONOptions{}, "b int64 not null, a int64"},
		{"struct", `{"s": {"a": 1, "b": "x"}}`, JSONOptions{}, "s struct<a:int64,b:string> not null"},
		{"struct merge", "{\"s\": {\"a\": 1}}\n{\"s\": {\"b\": \"x\", \"a\": 2.5}}\n{\"s\": null}\n", JSONOptions{}, "s struct<a:float64,b:string>"},
		{"struct field conflict", "{\"s\": {\"a\": 1}}\n{\"s\": {\"a\": false}}\n", JSONOptions{}, "s struct<a:string> not null"},
		{"list", `{"l": [1, 2, 3]}`, JSONOptions{}, "l list<int64> not null"},
		{"list widens", "{\"l\": [1, 2.5]}\n{\"l\": [null, 3]}\n", JSONOptions{}, "l list<float64> not null"},
		{"empty list", "{\"l\": []}\n{\"l\": []}\n", JSONOptions{}, "l list<string> not null"},
		{"empty list then ints", "{\"l\": []}\n{\"l\": [1]}\n", JSONOptions{}, "l list<int64> not null"},
		{"list of structs", `{"l": [{"x": 1}, {"y": "a"}]}`, JSONOptions{}, "l list<struct<x:int64,y:string>> not null"},
		{"nested lists", `{"l": [[1], [2, 3], []]}`, JSONOptions{}, "l list<list<int64>> not null"},
		{"empty object", `{"o": {}}`, JSONOptions{}, "o string not null"},
		{"quoted names", `{"Order ID": {"Café": 1}}`, JSONOptions{}, `"Order ID" struct<"Café":int64> not null`},
		{"repeated key", `{"a": 1, "a": 2.5}`, JSONOptions{}, "a float64 not null"},
		{"blank lines and crlf", "\r\n{\"a\": 1}\r\n\r\n  \n{\"a\": 2}", JSONOptions{}, "a int64 not null"},
		{"bom", "\ufeff{\"a\": 1}\n", JSONOptions{}, "a int64 not null"},
		{"sample rows", "{\"a\": 1}\n{\"a\": 2}\n{\"a\": \"x\"}\n", JSONOptions{SampleRows: 2}, "a int64 not null"},
		{"sample bytes cut a line", "{\"a\": 1}\n{\"a\": \"xxxxxxxxxxx\"}\n", JSONOptions{SampleBytes: 15}, "a int64 not null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cols, err := InferJSON(strings.NewReader(c.data), "file:///t/a.json", c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(columnStrings(cols), ", "); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestInferJSONErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33)
	cases := []struct{ name, data, want string }{
		{"invalid", "{\"a\": 1}\n{\"a\": }\n", "file:///t/a.json line 2: invalid JSON"},
		{"array line", "[1, 2]\n", "line 1: not a JSON object"},
		{"scalar line", "{\"a\": 1}\n\n42\n", "line 3: not a JSON object"},
		{"two values", `{"a": 1} {"b": 2}`, "line 1: more than one JSON value"},
		{"unterminated", `{"a": [1, 2`, "line 1: invalid JSON"},
		{"too deep", deep, "nests deeper than 32"},
		{"empty key", `{"": 1}`, "empty key"},
		{"empty", "", "has no JSON objects"},
		{"blank", "\n \n", "has no JSON objects"},
	}
	for _, c := range cases {
		_, err := InferJSON(strings.NewReader(c.data), "file:///t/a.json", JSONOptions{})
		if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(apierr.PublicMessage(err), c.want) {
			t.Errorf("%s: %v, want InvalidArgument with %q", c.name, err, c.want)
		}
	}
}

func TestInferJSONGzipLongLines(t *testing.T) {
	var plain strings.Builder
	long := strings.Repeat("x", 200<<10) // longer than the reader's buffer
	for i := range 50 {
		fmt.Fprintf(&plain, "{\"id\": %d, \"blob\": %q, \"tags\": [\"a\", \"b\"]}\n", i, long)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(plain.String()))
	zw.Close()
	cols, err := InferJSON(bytes.NewReader(gz.Bytes()), "a.json.gz", JSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(columnStrings(cols), ", "); got != "id int64 not null, blob string not null, tags list<string> not null" {
		t.Errorf("got %s", got)
	}
}

// TestInferJSONArrowReads checks the inferred schema against Arrow's JSON
// reader.
func TestInferJSONArrowReads(t *testing.T) {
	data := "{\"id\": 1, \"price\": 2.5, \"s\": {\"a\": 1, \"b\": \"x\"}, \"l\": [1, 2], \"ok\": true}\n" +
		"{\"id\": 2, \"price\": 3, \"s\": {\"a\": 2}, \"l\": [], \"note\": \"n\"}\n" +
		"{\"id\": 3, \"price\": null, \"s\": null, \"l\": [3], \"ok\": false}\n"
	cols, err := InferJSON(strings.NewReader(data), "a.json", JSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "id int64 not null, price float64, s struct<a:int64,b:string>, l list<int64> not null, ok bool, note string"
	if got := strings.Join(columnStrings(cols), ", "); got != want {
		t.Fatalf("got %s", got)
	}
	sc, err := ToArrow(cols)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := array.NewJSONReader(strings.NewReader(data), sc, array.WithAllocator(mem))
	defer r.Release()
	rows := 0
	for r.Next() {
		rows += int(r.RecordBatch().NumRows())
	}
	if err := r.Err(); err != nil || rows != 3 {
		t.Errorf("Arrow's JSON reader with the inferred schema: %d rows, %v", rows, err)
	}
}
