//go:build integration

package integration

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/nscale/nscale/internal/parquettest"
)

// The end-to-end table e2e.people: every kind of value the corpus covers
// (nulls in every column, unicode, negative and large decimals, timestamps
// with a zone, a nested struct, empty strings), deterministic, in four
// snappy Parquet files under two dt= partitions.
var peopleSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "card", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "signup", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "seen", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "visits", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "address", Type: arrow.StructOf(
		arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "zip", Type: arrow.BinaryTypes.String, Nullable: true},
	), Nullable: true},
}, nil)

// peopleDDL creates the table over s3://lake/e2e/people/.
const peopleDDL = `CREATE DATABASE e2e;
CREATE EXTERNAL TABLE e2e.people (id bigint, name string, email string, card string, country string,
  amount decimal(12,2), score double, signup date, seen timestamptz, active boolean, visits int,
  address struct<city: string, zip: string>)
  PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 's3://lake/e2e/people/';
`

var (
	names     = []string{"Zoë", "Ōsaka Tarō", "straße", "李雷", "Ana 🙂", "", "O'Brien", "Ñandú", "Émile", "Bob"}
	countries = []string{"DE", "FR", "ES", "US", "JP", "BR", "IE", "IN"}
	cities    = []string{"Berlin", "Paris", "Madrid", "Austin", "東京", "São Paulo", "Cork", "Pune"}
)

// writePeople writes the table's files under root (a local copy for DuckDB)
// and returns their paths relative to root, with their bytes.
func writePeople(t *testing.T, root string) map[string][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	files := map[string][]byte{}
	id := int64(0)
	for _, dt := range []string{"2024-03-01", "2024-03-02"} {
		for part := 0; part < 2; part++ {
			rows := 30 + part*7
			b := array.NewRecordBuilder(memory.DefaultAllocator, peopleSchema)
			for i := 0; i < rows; i++ {
				id++
				nullEvery := func(k int) bool { return (int(id)+k)%11 == 0 }
				appendStr := func(f int, v string, null bool) {
					if null {
						b.Field(f).AppendNull()
					} else {
						b.Field(f).(*array.StringBuilder).Append(v)
					}
				}
				if id == 5 {
					b.Field(0).AppendNull()
				} else {
					b.Field(0).(*array.Int64Builder).Append(id)
				}
				name := names[rng.IntN(len(names))]
				appendStr(1, name, nullEvery(1))
				email := fmt.Sprintf("user%d@%s", id, []string{"example.com", "mail.example.org", "ex@mple.net"}[id%3])
				if id%13 == 0 {
					email = "no-at-sign"
				}
				appendStr(2, email, nullEvery(2))
				card := fmt.Sprintf("4%015d", rng.Int64N(1e15))
				appendStr(3, card, nullEvery(3))
				appendStr(4, countries[rng.IntN(len(countries))], nullEvery(4))
				if nullEvery(5) {
					b.Field(5).AppendNull()
				} else {
					b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(rng.Int64N(2_000_000_00) - 50_000_00))
				}
				if nullEvery(6) {
					b.Field(6).AppendNull()
				} else {
					b.Field(6).(*array.Float64Builder).Append(float64(rng.IntN(100000)) / 64)
				}
				if nullEvery(7) {
					b.Field(7).AppendNull()
				} else {
					b.Field(7).(*array.Date32Builder).Append(arrow.Date32(18000 + rng.IntN(2000)))
				}
				if nullEvery(8) {
					b.Field(8).AppendNull()
				} else {
					ts := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(400*24*3600)) * time.Second).Add(time.Duration(rng.IntN(1e6)) * time.Microsecond)
					b.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
				}
				if nullEvery(9) {
					b.Field(9).AppendNull()
				} else {
					b.Field(9).(*array.BooleanBuilder).Append(rng.IntN(2) == 0)
				}
				if nullEvery(10) {
					b.Field(10).AppendNull()
				} else {
					b.Field(10).(*array.Int32Builder).Append(int32(rng.IntN(1000)) - 100)
				}
				sb := b.Field(11).(*array.StructBuilder)
				if id%17 == 0 {
					sb.AppendNull()
				} else {
					sb.Append(true)
					sb.FieldBuilder(0).(*array.StringBuilder).Append(cities[rng.IntN(len(cities))])
					if id%7 == 0 {
						sb.FieldBuilder(1).AppendNull()
					} else {
						sb.FieldBuilder(1).(*array.StringBuilder).Append(fmt.Sprintf("%05d", rng.IntN(99999)))
					}
				}
			}
			rec := b.NewRecordBatch()
			b.Release()
			data := parquettest.File(t, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(16)), rec)
			rec.Release()
			rel := fmt.Sprintf("dt=%s/part-%d.parquet", dt, part)
			files[rel] = data
			p := filepath.Join(root, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return files
}
