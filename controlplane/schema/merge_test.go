package schema

import (
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

func cols(spec ...string) []Column {
	var out []Column
	for _, s := range spec {
		name, typ, _ := strings.Cut(s, " ")
		nullable := !strings.HasSuffix(typ, " not null")
		typ = strings.TrimSuffix(typ, " not null")
		out = append(out, Column{Name: name, Type: sqlsubset.MustParseType(typ), Nullable: nullable})
	}
	return out
}

func TestMerge(t *testing.T) {
	a := FileColumns{Path: "s3://b/t/dt=1/a.parquet", Columns: cols("id int64 not null", "amount decimal128(10,2) not null", "s struct<x:int32>")}
	b := FileColumns{Path: "s3://b/t/dt=2/b.parquet", Columns: cols("id int64", "amount decimal128(10,2) not null", "s struct<x:int32>")}
	got, err := Merge([]FileColumns{a, b, a})
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(columnStrings(got), ", "); s != "id int64, amount decimal128(10,2) not null, s struct<x:int32>" {
		t.Errorf("merged: %s", s)
	}
	if a.Columns[0].Nullable {
		t.Errorf("Merge changed its input")
	}

	cases := []struct {
		name string
		b    []Column
		want string
	}{
		{"type", cols("id int64", "amount string", "s struct<x:int32>"),
			`column "amount" is decimal128(10,2) in s3://b/t/dt=1/a.parquet but string in s3://b/t/dt=2/b.parquet`},
		{"decimal scale", cols("id int64", "amount decimal128(10,3)", "s struct<x:int32>"),
			`column "amount" is decimal128(10,2) in s3://b/t/dt=1/a.parquet but decimal128(10,3) in s3://b/t/dt=2/b.parquet`},
		{"no widening", cols("id int32", "amount decimal128(10,2)", "s struct<x:int32>"),
			`column "id" is int64 in s3://b/t/dt=1/a.parquet but int32 in s3://b/t/dt=2/b.parquet`},
		{"nested", cols("id int64", "amount decimal128(10,2)", "s struct<x:int64>"),
			`column "s" is struct<x:int32> in s3://b/t/dt=1/a.parquet but struct<x:int64> in s3://b/t/dt=2/b.parquet`},
		{"missing", cols("id int64", "amount decimal128(10,2)"),
			`column "s" is in s3://b/t/dt=1/a.parquet but not in s3://b/t/dt=2/b.parquet`},
		{"extra", cols("id int64", "amount decimal128(10,2)", "s struct<x:int32>", "note string"),
			`column "note" is in s3://b/t/dt=2/b.parquet but not in s3://b/t/dt=1/a.parquet`},
		{"renamed", cols("id int64", "total decimal128(10,2)", "s struct<x:int32>"),
			`column "total" is in s3://b/t/dt=2/b.parquet but not in s3://b/t/dt=1/a.parquet`},
		{"order", cols("id int64", "s struct<x:int32>", "amount decimal128(10,2)"),
			`column 2 is "amount" in s3://b/t/dt=1/a.parquet but "s" in s3://b/t/dt=2/b.parquet`},
	}
	for _, c := range cases {
		_, err := Merge([]FileColumns{a, {Path: b.Path, Columns: c.b}})
		if !apierr.Is(err, apierr.FailedPrecondition) || apierr.PublicMessage(err) != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
	if _, err := Merge(nil); !apierr.Is(err, apierr.InvalidArgument) {
		t.Errorf("Merge(nil): %v", err)
	}
}
