package scan

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func benchData(json bool) []byte {
	var b bytes.Buffer
	if !json {
		b.WriteString("id,name,amount,ts,flag\n")
	}
	for i := 0; b.Len() < 32<<20; i++ {
		if json {
			fmt.Fprintf(&b, `{"id":%d,"name":"name number %d","amount":%d.25,"ts":"2024-05-06 12:34:%02d","flag":true}`+"\n", i, i, i%100000, i%60)
		} else {
			fmt.Fprintf(&b, "%d,name number %d,%d.25,2024-05-06 12:34:%02d,true\n", i, i, i%100000, i%60)
		}
	}
	return b.Bytes()
}

func benchScan(b *testing.B, scan scanFunc, data []byte) {
	cols := []Column{col(b, "id", "int64"), col(b, "name", "string"), col(b, "amount", "decimal128(10,2)"), col(b, "ts", "timestamp(us)"), col(b, "flag", "bool")}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		err := scan(context.Background(), bytes.NewReader(data), int64(len(data)), cols, memory.NewGoAllocator(), func(arrow.RecordBatch) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCSV(b *testing.B)  { benchScan(b, csvScanner(CSVOptions{Header: true}), benchData(false)) }
func BenchmarkJSON(b *testing.B) { benchScan(b, jsonScanner(JSONOptions{}), benchData(true)) }
