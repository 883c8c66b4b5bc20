package task

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/agent/fetch"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

func csvFile(rows []row, header bool) []byte {
	var b bytes.Buffer
	if header {
		b.WriteString("id,email,country\r\n")
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "%d,\"%s\",%s\r\n", r.id, r.email, r.country)
	}
	return b.Bytes()
}

func jsonFile(rows []row) []byte {
	var b bytes.Buffer
	for _, r := range rows {
		// Keys in another order than the columns, and one the task does not read.
		fmt.Fprintf(&b, `{"country":%q,"note":{"x":[1]},"email":%q,"id":%d}`+"\n", r.country, r.email, r.id)
	}
	return b.Bytes()
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// put stores one object per file on f's server under dir.
func put(t *testing.T, f *fixture, dir string, files ...[]byte) []taskplan.Object {
	t.Helper()
	var objs []taskplan.Object
	for i, data := range files {
		key := fmt.Sprintf("%s/part-%d", dir, i)
		f.srv.PutObject(t, bucket, key, data)
		objs = append(objs, taskplan.Object{Path: key, Size: int64(len(data))})
	}
	return objs
}

const fileColumns = `[{"name":"id","type":"int64"},{"name":"email","type":"string"},{"name":"country","type":"string"}]`

// The CSV and JSON copies of the Parquet test data give the Parquet
// results, through the same enforcer, over the same range GETs.
func TestRunTextFormats(t *testing.T) {
	f := setup(t)
	tests := []struct {
		name   string
		format string
		opts   map[string]string
		files  [][]byte
	}{
		{"csv", "csv", nil, [][]byte{csvFile(rowsA, true), csvFile(rowsB, true)}},
		{"csv, explicit options", "csv", map[string]string{"header": "true", "delimiter": ",", "quote": `"`}, [][]byte{csvFile(rowsA, true), csvFile(rowsB, true)}},
		{"csv gzip", "csv", nil, [][]byte{gz(t, csvFile(rowsA, true)), csvFile(rowsB, true)}},
		{"csv without header, column order from the task", "csv", map[string]string{"header": "false", "columns": fileColumns},
			[][]byte{csvFile(rowsA, false), csvFile(rowsB, false)}},
		{"json", "json", nil, [][]byte{jsonFile(rowsA), jsonFile(rowsB)}},
		{"json gzip", "json", map[string]string{"columns": fileColumns}, [][]byte{jsonFile(rowsA), gz(t, jsonFile(rowsB))}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			task := testTask(put(t, f, fmt.Sprintf("text%d", i), tc.files...), 0)
			task.Format, task.FormatOptions = tc.format, tc.opts
			got, st, err := run(t, f, task)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"3 xxxx@z.de DE", "4 xxxx@w.io DE", "6 xxxx@u.net DE", "7 xxxx@t.com DE", "8 xxxx@s.com DE"}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("rows = %q, want %q", got, want)
			}
			size := int64(len(tc.files[0]) + len(tc.files[1]))
			if st.Objects != 2 || st.RowsRead != 8 || st.RowsReturned != 5 || st.BytesRead != size {
				t.Fatalf("Stats = %+v, want 2 objects, 8 rows read, 5 returned, %d bytes", st, size)
			}
			// The limit stops after the first object.
			task.Limit = 2
			got, st, err = run(t, f, task)
			if err != nil || len(got) != 2 || st.Objects != 1 {
				t.Fatalf("with limit 2: rows %q, Stats %+v, err %v", got, st, err)
			}
		})
	}
}

// Partition columns come from the object, as for Parquet.
func TestRunTextPartitions(t *testing.T) {
	f := setup(t)
	task := testTask(put(t, f, "parts", jsonFile(rowsA), csvFile(rowsB, true)), 0)
	task.Format = "json"
	task.Objects = task.Objects[:1]
	task.Objects[0].Partition = map[string]*string{"dt": sp("2024-03-01")}
	task.PartitionColumns = map[string]string{"dt": "date32"}
	task.Columns = []taskplan.Column{{Name: "id", Type: "int64"}, {Name: "dt", Type: "date32"}}
	task.RowFilter = sqlsubset.Tree{}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var got []string
	_, err := Run(context.Background(), task, f.urls, testKey, fetch.Config{}, mem, func(rec arrow.RecordBatch) error {
		for r := range int(rec.NumRows()) {
			got = append(got, rec.Column(0).ValueStr(r)+" "+rec.Column(1).ValueStr(r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2 2024-03-01", "3 2024-03-01", "4 2024-03-01"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %q, want %q", got, want)
	}
}

// CSV and JSON carry no types: a column that only the row filter reads
// takes its type from the "columns" format option, and without it the
// task fails before anything is fetched.
func TestRunTextFilterColumnType(t *testing.T) {
	f := setup(t)
	files := [][]byte{csvFile(rowsA, true), csvFile(rowsB, true)}
	task := testTask(put(t, f, "filter", files...), 0)
	task.Format = "csv"
	task.Columns = task.Columns[:2] // id, email; the row filter reads country
	task.Predicate = sqlsubset.Tree{}

	fetched := false
	urls := func(ctx context.Context, obj taskplan.Object) (string, time.Time, error) {
		fetched = true
		return f.urls(ctx, obj)
	}
	_, err := Run(context.Background(), task, urls, testKey, fetch.Config{}, memory.NewGoAllocator(), func(arrow.RecordBatch) error { return nil })
	if !apierr.Is(err, apierr.FailedPrecondition) || !strings.Contains(err.Error(), `"country"`) || fetched {
		t.Fatalf("err = %v (fetched %v), want FailedPrecondition naming country before any fetch", err, fetched)
	}

	task.FormatOptions = map[string]string{"columns": fileColumns}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var ids []string
	_, err = Run(context.Background(), task, f.urls, testKey, fetch.Config{}, mem, func(rec arrow.RecordBatch) error {
		if rec.NumCols() != 2 {
			t.Errorf("%d columns, want 2", rec.NumCols())
		}
		for r := range int(rec.NumRows()) {
			ids = append(ids, rec.Column(0).ValueStr(r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1", "3", "4", "6", "7", "8"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids = %q, want %q", ids, want)
	}
}

// A bad value fails the task: the user's message names neither the object
// (its path holds partition values) nor the value; the report (Error(),
// for the audit) names the object, line and column, without the value. The
// rows of the objects before it were served.
func TestRunTextBadValue(t *testing.T) {
	f := setup(t)
	bad := []byte("id,email,country\n5,e@v.com,DE\n\n6x,secret@u.net,DE\n")
	task := testTask(put(t, f, "bad", csvFile(rowsA, true), bad), 0)
	task.Format = "csv"
	got, _, err := run(t, f, task)
	if !apierr.Is(err, apierr.InvalidArgument) {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
	msg := apierr.PublicMessage(err)
	if !strings.Contains(msg, "not valid data") || strings.Contains(msg, "bad/") || strings.Contains(msg, "part-1") {
		t.Errorf("user message %q: want a fixed message without the object", msg)
	}
	report := err.Error()
	for _, want := range []string{"object bad/part-1", "line 4", `column "id"`, "int64"} {
		if !strings.Contains(report, want) {
			t.Errorf("report %q does not name %q", report, want)
		}
	}
	for _, m := range []string{msg, report} {
		if strings.Contains(m, "6x") || strings.Contains(m, "secret") {
			t.Errorf("%q repeats the file's data", m)
		}
	}
	if len(got) != 2 {
		t.Errorf("rows before the failure: %q", got)
	}

	task = testTask(put(t, f, "badjson", []byte("{\"id\":1,\"email\":\"a@x.com\",\"country\":\"DE\"}\n{\"id\":2,\"email\":")), 0)
	task.Format = "json"
	_, _, err = run(t, f, task)
	if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), "object badjson/part-0: invalid JSON at line 2") ||
		strings.Contains(apierr.PublicMessage(err), "badjson") {
		t.Fatalf("truncated JSON: %v", err)
	}
}

// What a CSV or JSON task cannot do is refused before any fetch.
func TestRunTextRefusals(t *testing.T) {
	tests := []struct {
		name string
		edit func(*taskplan.Task)
		code apierr.Code
		want string
	}{
		{"unknown format", func(t *taskplan.Task) { t.Format = "orc" }, apierr.FailedPrecondition, "format orc is not supported"},
		{"byte ranges", func(t *taskplan.Task) {
			t.Format = "csv"
			t.Objects[0].Ranges = []taskplan.Range{{Offset: 0, Length: 5}}
		}, apierr.FailedPrecondition, "byte ranges"},
		{"unknown option", func(t *taskplan.Task) {
			t.Format = "csv"
			t.FormatOptions = map[string]string{"escape": `\`}
		}, apierr.FailedPrecondition, `"escape"`},
		{"bad option", func(t *taskplan.Task) {
			t.Format = "csv"
			t.FormatOptions = map[string]string{"delimiter": "ab"}
		}, apierr.InvalidArgument, "delimiter"},
		{"json takes no csv option", func(t *taskplan.Task) {
			t.Format = "json"
			t.FormatOptions = map[string]string{"header": "true"}
		}, apierr.FailedPrecondition, `"header"`},
		{"struct column in csv", func(t *taskplan.Task) {
			t.Format = "csv"
			t.Columns[2].Type = "struct<a:int32>"
			t.RowFilter = sqlsubset.Tree{}
		}, apierr.FailedPrecondition, "CSV cannot hold"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			task := testTask([]taskplan.Object{{Path: "x", Size: 10}}, 0)
			tc.edit(&task)
			called := false
			_, err := Run(context.Background(), task, func(context.Context, taskplan.Object) (string, time.Time, error) {
				called = true
				return "", time.Time{}, fmt.Errorf("no fetch expected")
			}, testKey, fetch.Config{}, memory.NewGoAllocator(), func(arrow.RecordBatch) error { return nil })
			if !apierr.Is(err, tc.code) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %s naming %s", err, tc.code, tc.want)
			}
			if called {
				t.Error("urls called for a refused task")
			}
		})
	}
}
