package task

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nscale/nscale/agent/enforce"
	"github.com/nscale/nscale/agent/fetch"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/parquettest"
	"github.com/nscale/nscale/internal/s3test"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
	"github.com/nscale/nscale/presign"
)

const bucket = "nscale-task"

var testKey = mask.Key(strings.Repeat("k", mask.KeySize))

type row struct {
	id             int64
	email, country string
}

// parquetFile writes rows as Parquet with columns id, email, country.
func parquetFile(t *testing.T, rows []row) []byte {
	t.Helper()
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.id)
		b.Field(1).(*array.StringBuilder).Append(r.email)
		b.Field(2).(*array.StringBuilder).Append(r.country)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return parquettest.FileWith(t, parquet.NewWriterProperties(parquet.WithAllocator(mem)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)), rec)
}

var (
	rowsA = []row{{1, "a@x.com", "DE"}, {2, "b@y.org", "FR"}, {3, "c@z.de", "DE"}, {4, "d.e@w.io", "DE"}}
	rowsB = []row{{5, "e@v.com", "US"}, {6, "f@u.net", "DE"}, {7, "g@t.com", "DE"}, {8, "h@s.com", "DE"}}
)

type fixture struct {
	srv  *s3test.Server
	urls URLs
	objs []taskplan.Object
}

func setup(t *testing.T) *fixture {
	t.Helper()
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	var objs []taskplan.Object
	for i, rs := range [][]row{rowsA, rowsB} {
		key := fmt.Sprintf("tbl/part-%d.parquet", i)
		data := parquetFile(t, rs)
		srv.PutObject(t, bucket, key, data)
		objs = append(objs, taskplan.Object{Path: key, Size: int64(len(data))})
	}
	s, err := presign.NewS3(presign.S3Config{
		Region:      srv.Region,
		Endpoint:    srv.Endpoint,
		PathStyle:   true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	urls := func(ctx context.Context, obj taskplan.Object) (string, time.Time, error) {
		sg, err := s.SignGet(ctx, presign.Object{Bucket: bucket, Key: obj.Path}, time.Minute)
		if err != nil {
			return "", time.Time{}, err
		}
		return sg.URL, sg.Expires, nil
	}
	return &fixture{srv: srv, urls: urls, objs: objs}
}

func testTask(objs []taskplan.Object, limit int64) taskplan.Task {
	return taskplan.Task{
		ID:      "t1",
		Table:   "db.tbl",
		Format:  "parquet",
		Objects: objs,
		Columns: []taskplan.Column{
			{Name: "id", Type: "int64"},
			{Name: "email", Type: "string", Mask: &sqlsubset.Mask{Func: "email_domain"}},
			{Name: "country", Type: "string"},
		},
		RowFilter: sqlsubset.Tree{Expr: &sqlsubset.Compare{Op: sqlsubset.Eq,
			Left: &sqlsubset.Column{Name: "country"}, Right: sqlsubset.StringLiteral("DE")}},
		Predicate: sqlsubset.Tree{Expr: &sqlsubset.Compare{Op: sqlsubset.Gt,
			Left: &sqlsubset.Column{Name: "id"}, Right: sqlsubset.Int64Literal(1)}},
		Limit: limit,
	}
}

// run runs task and returns the emitted rows rendered as strings.
func run(t *testing.T, f *fixture, task taskplan.Task) ([]string, Stats, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	enf, err := enforce.New(task, testKey, memory.NewGoAllocator())
	if err != nil {
		t.Fatal(err)
	}
	want := enf.OutputSchema()
	var got []string
	st, err := Run(context.Background(), task, f.urls, testKey, fetch.Config{}, mem, func(rec arrow.RecordBatch) error {
		if !rec.Schema().Equal(want) {
			t.Errorf("batch schema %v, want %v", rec.Schema(), want)
		}
		if rec.NumRows() == 0 {
			t.Errorf("empty batch emitted")
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			got = append(got, fmt.Sprintf("%d %s %s",
				rec.Column(0).(*array.Int64).Value(r),
				rec.Column(1).(*array.String).Value(r),
				rec.Column(2).(*array.String).Value(r)))
		}
		return nil
	})
	return got, st, err
}

func TestRunAcrossObjects(t *testing.T) {
	f := setup(t)
	got, st, err := run(t, f, testTask(f.objs, 3))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"3 xxxx@z.de DE", "4 xxxx@w.io DE", "6 xxxx@u.net DE"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %q, want %q", got, want)
	}
	if st.Objects != 2 || st.RowsReturned != 3 || st.RowsRead < 5 || st.RowsRead > 8 || st.BytesRead <= 0 || st.Renewals != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestRunNoLimit(t *testing.T) {
	f := setup(t)
	got, st, err := run(t, f, testTask(f.objs, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"3 xxxx@z.de DE", "4 xxxx@w.io DE", "6 xxxx@u.net DE", "7 xxxx@t.com DE", "8 xxxx@s.com DE"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %q, want %q", got, want)
	}
	if st.Objects != 2 || st.RowsRead != 8 || st.RowsReturned != 5 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestRunLimitStopsAfterFirstObject(t *testing.T) {
	f := setup(t)
	got, st, err := run(t, f, testTask(f.objs, 2))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"3 xxxx@z.de DE", "4 xxxx@w.io DE"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %q, want %q", got, want)
	}
	if st.Objects != 1 || st.RowsRead != 4 || st.RowsReturned != 2 {
		t.Fatalf("Stats = %+v, want 1 object", st)
	}
}

func TestRunDeletedObject(t *testing.T) {
	f := setup(t)
	key := f.objs[1].Path
	b := bucket
	if _, err := f.srv.Client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &b, Key: &key}); err != nil {
		t.Fatal(err)
	}
	got, st, err := run(t, f, testTask(f.objs, 0))
	if err == nil {
		t.Fatal("no error for a deleted object")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if !strings.Contains(msg, "object "+key) {
		t.Errorf("error does not name the path: %s", msg)
	}
	if !apierr.Is(err, apierr.NotFound) {
		t.Errorf("err = %v, want NotFound", err)
	}
	if regexp.MustCompile(`X-Amz-Signature=[0-9a-f]{16}`).MatchString(msg) || strings.Contains(msg, s3test.SecretKey) {
		t.Errorf("error leaks the URL signature: %s", msg)
	}
	// The first object was served before the failure.
	if len(got) != 2 || st.Objects != 2 {
		t.Errorf("rows %q, Stats %+v", got, st)
	}
}

func TestRunUnsupportedFormat(t *testing.T) {
	task := testTask(nil, 0)
	task.Format = "orc"
	called := false
	_, err := Run(context.Background(), task, func(context.Context, taskplan.Object) (string, time.Time, error) {
		called = true
		return "", time.Time{}, nil
	}, testKey, fetch.Config{}, memory.NewGoAllocator(), func(arrow.RecordBatch) error { return nil })
	if !apierr.Is(err, apierr.FailedPrecondition) || !strings.Contains(err.Error(), "format orc is not supported by this agent") {
		t.Fatalf("err = %v, want FailedPrecondition", err)
	}
	if called {
		t.Error("urls called for an unsupported format")
	}
}

func TestRunFailsClosed(t *testing.T) {
	task := testTask([]taskplan.Object{{Path: "x", Size: 10}}, 0)
	task.Columns[0].Mask = &sqlsubset.Mask{Func: "show_last", Args: []int64{4}} // not for int64
	called := false
	_, err := Run(context.Background(), task, func(context.Context, taskplan.Object) (string, time.Time, error) {
		called = true
		return "", time.Time{}, nil
	}, testKey, fetch.Config{}, memory.NewGoAllocator(), func(arrow.RecordBatch) error { return nil })
	if err == nil || called {
		t.Fatalf("err = %v, urls called %v; want an error before any fetch", err, called)
	}
}

func TestRunEmitError(t *testing.T) {
	f := setup(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	boom := fmt.Errorf("client went away")
	_, err := Run(context.Background(), testTask(f.objs, 0), f.urls, testKey, fetch.Config{}, mem, func(arrow.RecordBatch) error { return boom })
	if err != boom {
		t.Fatalf("err = %v, want the emit error unchanged", err)
	}
}
