package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

const testCustomers = 2000

func generateInto(t *testing.T, dir string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(append([]string{"--out", dir}, args...), &out, &errb); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, errb.String())
	}
	return out.String()
}

// hashes maps each file's path under dir to its sha256.
func hashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	h := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, p)
		h[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSameSeedSameBytes(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	summary := generateInto(t, a, "--customers", "2000", "--seed", "7")
	generateInto(t, b, "--customers", "2000", "--seed", "7")
	generateInto(t, c, "--customers", "2000", "--seed", "8")
	ha, hb, hc := hashes(t, a), hashes(t, b), hashes(t, c)
	if len(ha) != 4+30 {
		t.Errorf("%d files, want 4 customer files and one per day", len(ha))
	}
	for p, sum := range ha {
		if hb[p] != sum {
			t.Errorf("%s differs between two runs with the same seed", p)
		}
		if hc[p] == sum {
			t.Errorf("%s is the same with another seed", p)
		}
	}
	if len(hb) != len(ha) {
		t.Errorf("second run wrote %d files, first %d", len(hb), len(ha))
	}
	if !strings.HasPrefix(summary, "demodata: 34 files, 12000 rows (2000 customers, 10000 transactions), ") || strings.Count(summary, "\n") != 1 {
		t.Errorf("summary %q", summary)
	}
}

func TestRefusesNonEmptyDirUnlessForced(t *testing.T) {
	dir := t.TempDir()
	generateInto(t, dir, "--customers", "40")
	before := hashes(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run([]string{"--out", dir, "--customers", "40"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second run into a non-empty dir: %v", err)
	}
	// A stale part from a bigger earlier run must not survive --force.
	stale := filepath.Join(dir, "transactions", "dt=2024-05-01", "part-00099.parquet")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	generateInto(t, dir, "--customers", "40", "--force")
	after := hashes(t, dir)
	delete(after, "keep.txt")
	if len(after) != len(before) {
		t.Errorf("after --force: %d files, want %d", len(after), len(before))
	}
	for p, sum := range before {
		if after[p] != sum {
			t.Errorf("%s differs after --force", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "keep.txt")); err != nil {
		t.Errorf("--force removed a file it did not write: %v", err)
	}
}

// readTable reads a Parquet file the way a reader without nscale's help
// would: the Arrow schema comes from Parquet's own types.
func readTable(t *testing.T, path string, dict []string, mem memory.Allocator) arrow.Table {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	md := pf.MetaData()
	for i := 0; i < md.NumRowGroups(); i++ {
		rg := md.RowGroup(i)
		if rg.NumRows() > rowGroupRows {
			t.Errorf("%s: row group of %d rows", path, rg.NumRows())
		}
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != compress.Codecs.Snappy {
				t.Errorf("%s: column %d is %v, want snappy", path, c, cc.Compression())
			}
			// Only low-cardinality columns have a dictionary, and no chunk
			// mixes dictionary and plain pages (see writerProps).
			name := cc.PathInSchema().String()
			if want := slices.Contains(dict, name); cc.HasDictionaryPage() != want {
				t.Errorf("%s: column %s has a dictionary: %v, want %v", path, name, cc.HasDictionaryPage(), want)
			}
			data := 0
			for _, st := range cc.EncodingStats() {
				if st.PageType.String() == "DATA_PAGE" {
					data++
				}
			}
			if data != 1 {
				t.Errorf("%s: column %s has data pages in %d encodings", path, name, data)
			}
		}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func schemaString(s *arrow.Schema) string {
	var parts []string
	for _, f := range s.Fields() {
		parts = append(parts, f.Name+" "+f.Type.String())
	}
	return strings.Join(parts, ", ")
}

// Independent of luhnCheck: the textbook Luhn test over the full number.
func luhn(number string) bool {
	sum, double := 0, false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum, double = sum+d, !double
	}
	return sum%10 == 0
}

func strs(t *testing.T, tbl arrow.Table, name string) []string {
	var out []string
	for _, ch := range tbl.Column(tbl.Schema().FieldIndices(name)[0]).Data().Chunks() {
		a := ch.(*array.String)
		for i := 0; i < a.Len(); i++ {
			out = append(out, a.Value(i))
		}
	}
	return out
}

func int64s(t *testing.T, tbl arrow.Table, name string) []int64 {
	var out []int64
	for _, ch := range tbl.Column(tbl.Schema().FieldIndices(name)[0]).Data().Chunks() {
		out = append(out, ch.(*array.Int64).Int64Values()...)
	}
	return out
}

func TestContents(t *testing.T) {
	dir := t.TempDir()
	generateInto(t, dir, "--customers", "2000")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	const wantCustomers = "id int64, name utf8, email utf8, country utf8, card_number utf8, signup_date date32, vip bool"
	const wantTransactions = "tx_id int64, customer_id int64, amount decimal(12, 2), currency utf8, card_number utf8, country utf8, ts timestamp[us, tz=UTC], status utf8"

	cards := map[int64]string{}
	homes := map[int64]string{}
	countries := map[string]bool{}
	customerFiles, _ := filepath.Glob(filepath.Join(dir, "customers", "*.parquet"))
	for _, p := range customerFiles {
		tbl := readTable(t, p, customersDict, mem)
		if got := schemaString(tbl.Schema()); got != wantCustomers {
			t.Errorf("%s schema:\n got %s\nwant %s", p, got, wantCustomers)
		}
		ids, card, country := int64s(t, tbl, "id"), strs(t, tbl, "card_number"), strs(t, tbl, "country")
		for i, id := range ids {
			if len(card[i]) != 16 || !luhn(card[i]) {
				t.Errorf("customer %d: card %q is not 16 Luhn-valid digits", id, card[i])
			}
			cards[id], homes[id] = card[i], country[i]
			countries[country[i]] = true
		}
		tbl.Release()
	}
	if len(cards) != testCustomers || len(homes) != testCustomers {
		t.Errorf("%d distinct customer ids, want %d", len(cards), testCustomers)
	}
	for _, c := range []string{"DE", "FR", "ES", "IT", "NL", "SE", "PL", "IE", "US", "CA", "BR", "JP", "IN"} {
		if !countries[c] {
			t.Errorf("no customer in %s", c)
		}
		delete(countries, c)
	}
	if len(countries) > 0 {
		t.Errorf("unexpected countries %v", countries)
	}

	currency := map[string]string{"DE": "EUR", "FR": "EUR", "ES": "EUR", "IT": "EUR", "NL": "EUR", "IE": "EUR",
		"SE": "SEK", "PL": "PLN", "US": "USD", "CA": "CAD", "BR": "BRL", "JP": "JPY", "IN": "INR"}
	parts, _ := filepath.Glob(filepath.Join(dir, "transactions", "dt=*", "*.parquet"))
	txIDs := map[int64]bool{}
	atHome := 0
	for _, p := range parts {
		dt := strings.TrimPrefix(filepath.Base(filepath.Dir(p)), "dt=")
		tbl := readTable(t, p, transactionsDict, mem)
		if got := schemaString(tbl.Schema()); got != wantTransactions {
			t.Errorf("%s schema:\n got %s\nwant %s", p, got, wantTransactions)
		}
		tx, cid, card := int64s(t, tbl, "tx_id"), int64s(t, tbl, "customer_id"), strs(t, tbl, "card_number")
		country, cur := strs(t, tbl, "country"), strs(t, tbl, "currency")
		for i := range tx {
			txIDs[tx[i]] = true
			if cards[cid[i]] != card[i] || !luhn(card[i]) {
				t.Errorf("tx %d: card %q, customer %d has %q", tx[i], card[i], cid[i], cards[cid[i]])
			}
			if currency[country[i]] != cur[i] {
				t.Errorf("tx %d: %s in %s", tx[i], cur[i], country[i])
			}
			if country[i] == homes[cid[i]] {
				atHome++
			}
		}
		for _, ch := range tbl.Column(6).Data().Chunks() {
			for _, ts := range ch.(*array.Timestamp).TimestampValues() {
				if day := time.UnixMicro(int64(ts)).UTC().Format("2006-01-02"); day != dt {
					t.Errorf("%s holds a transaction of %s", p, day)
				}
			}
		}
		tbl.Release()
	}
	if atHome < len(txIDs)*8/10 {
		t.Errorf("%d of %d transactions in the customer's country, want about 90%%", atHome, len(txIDs))
	}
	if len(txIDs) != txPerCustomer*testCustomers {
		t.Errorf("%d distinct transactions, want %d", len(txIDs), txPerCustomer*testCustomers)
	}
	for id := int64(1); id <= txPerCustomer*testCustomers; id++ {
		if !txIDs[id] {
			t.Fatalf("tx_id %d missing: ids are not 1..%d", id, txPerCustomer*testCustomers)
		}
	}
}
