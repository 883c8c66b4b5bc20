package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var customersSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "card_number", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "signup_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "vip", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// The columns with few distinct values, dictionary-encoded (see writerProps).
var (
	customersDict    = []string{"name", "country", "signup_date"}
	transactionsDict = []string{"currency", "country", "status"}
)

// transactionsSchema has no dt: the partition value lives in the directory
// name only (Hive layout), as Spark writes it.
var transactionsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "tx_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
	{Name: "currency", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "card_number", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

const (
	customerFiles   = 4
	txPerCustomer   = 5
	days            = 30
	txRowsPerFile   = 2 * rowGroupRows
	microsPerDay    = 86_400_000_000
	homeCountryPct  = 90 // of transactions made in the customer's own country
	dayStreamOffset = 1 << 40
)

var firstDay = date(2024, 5, 1)

// statuses are drawn with these weights (out of 100).
var statuses = []struct {
	name   string
	weight int
}{{"approved", 92}, {"declined", 5}, {"refunded", 2}, {"chargeback", 1}}

// written is what one job produced.
type written struct {
	files []string
	rows  int64
	bytes int64
}

func (w *written) add(o written) {
	w.files = append(w.files, o.files...)
	w.rows += o.rows
	w.bytes += o.bytes
}

// customerRange is the ids in customer file k of n: an even split of 1..total.
func customerRange(total int64, k, n int) (first, last int64) {
	return total*int64(k)/int64(n) + 1, total * int64(k+1) / int64(n)
}

func writeCustomers(dir string, seed uint64, total int64, k, n int, mem memory.Allocator) (written, error) {
	path := filepath.Join(dir, "customers", fmt.Sprintf("part-%05d.parquet", k))
	pf, err := createParquet(path, customersSchema, customersDict, mem)
	if err != nil {
		return written{}, err
	}
	b := array.NewRecordBuilder(mem, customersSchema)
	defer b.Release()
	first, last := customerRange(total, k, n)
	for id := first; id <= last; id++ {
		c := newCustomer(seed, id)
		b.Field(0).(*array.Int64Builder).Append(c.id)
		b.Field(1).(*array.StringBuilder).Append(c.name)
		b.Field(2).(*array.StringBuilder).Append(c.email)
		b.Field(3).(*array.StringBuilder).Append(c.country.code)
		b.Field(4).(*array.StringBuilder).Append(c.card)
		b.Field(5).(*array.Date32Builder).Append(arrow.Date32(c.signupDays))
		b.Field(6).(*array.BooleanBuilder).Append(c.vip)
		if (id-first+1)%rowGroupRows == 0 || id == last {
			if err := pf.write(b.NewRecordBatch()); err != nil {
				return written{}, err
			}
		}
	}
	size, err := pf.close()
	return written{files: []string{path}, rows: last - first + 1, bytes: size}, err
}

// dayRange is the transaction ids of day d: an even split of 1..total.
func dayRange(total int64, d int) (first, last int64) {
	return total*int64(d)/days + 1, total * int64(d+1) / days
}

// writeDay writes the transactions of day d into dt=YYYY-MM-DD/part-NNNNN.parquet,
// ordered by time, from a random stream of its own (so days are independent).
func writeDay(dir string, seed uint64, customers int64, d int, mem memory.Allocator) (written, error) {
	day := firstDay.AddDate(0, 0, d)
	part := filepath.Join(dir, "transactions", "dt="+day.Format("2006-01-02"))
	r := rand.New(rand.NewPCG(seed, mix(dayStreamOffset+uint64(d))))
	first, last := dayRange(customers*txPerCustomer, d)

	ts := make([]int64, last-first+1)
	for i := range ts {
		ts[i] = day.UnixMicro() + r.Int64N(microsPerDay)
	}
	slices.Sort(ts)

	var out written
	b := array.NewRecordBuilder(mem, transactionsSchema)
	defer b.Release()
	var pf *parquetFile
	for i, t := range ts {
		if i%txRowsPerFile == 0 {
			path := filepath.Join(part, fmt.Sprintf("part-%05d.parquet", i/txRowsPerFile))
			var err error
			if pf, err = createParquet(path, transactionsSchema, transactionsDict, mem); err != nil {
				return written{}, err
			}
			out.files = append(out.files, path)
		}
		cid := r.Int64N(customers) + 1
		home, card := customerKey(customerRand(seed, cid), seed, cid)
		where := home
		if r.IntN(100) >= homeCountryPct {
			where = pickCountry(r)
		}
		b.Field(0).(*array.Int64Builder).Append(first + int64(i))
		b.Field(1).(*array.Int64Builder).Append(cid)
		b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(amountCents(r, where)))
		b.Field(3).(*array.StringBuilder).Append(where.currency)
		b.Field(4).(*array.StringBuilder).Append(card)
		b.Field(5).(*array.StringBuilder).Append(where.code)
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
		b.Field(7).(*array.StringBuilder).Append(pickStatus(r))
		end := i == len(ts)-1 || (i+1)%txRowsPerFile == 0
		if (i+1)%rowGroupRows == 0 || end {
			if err := pf.write(b.NewRecordBatch()); err != nil {
				return written{}, err
			}
		}
		if end {
			size, err := pf.close()
			if err != nil {
				return written{}, err
			}
			out.bytes += size
		}
	}
	out.rows = int64(len(ts))
	return out, nil
}

// amountCents is a price in the minor unit of where's currency: mostly
// small, some large, scaled from euro and whole units for yen.
func amountCents(r *rand.Rand, where *country) int64 {
	var eur int64
	switch n := r.IntN(100); {
	case n < 60:
		eur = 100 + r.Int64N(4_900) // 1.00 to 49.99
	case n < 90:
		eur = 5_000 + r.Int64N(45_000) // 50.00 to 499.99
	default:
		eur = 50_000 + r.Int64N(450_000) // 500.00 to 4999.99
	}
	v := eur * where.perEuro
	if where.currency == "JPY" {
		v -= v % 100
	}
	return v
}

func pickStatus(r *rand.Rand) string {
	n := r.IntN(100)
	for _, s := range statuses {
		if n < s.weight {
			return s.name
		}
		n -= s.weight
	}
	panic("status weights do not add up to 100")
}
