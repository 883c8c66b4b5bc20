package schema

import (
	"github.com/nscale/nscale/internal/apierr"
)

// FileColumns are the columns read from one file.
type FileColumns struct {
	// Path names the file in messages (its URI).
	Path    string
	Columns []Column
}

// Merge checks that every file has the same columns — same names, same
// order, same types — and returns them; a column is nullable when it is
// nullable in any file. No widening happens across files: a table whose
// files disagree (int32 here, int64 there) needs its type declared, or the
// files rewritten. The first difference is a FailedPrecondition naming
// both files:
//
//	column "amount" is decimal128(10,2) in s3://b/t/dt=1/a.parquet but string in s3://b/t/dt=2/b.parquet
//	column "note" is in s3://b/t/a.parquet but not in s3://b/t/b.parquet
//	column 2 is "b" in s3://b/t/a.parquet but "c" in s3://b/t/b.parquet
//
// Merge of no files is an InvalidArgument.
func Merge(files []FileColumns) ([]Column, error) {
	if len(files) == 0 {
		return nil, apierr.New(apierr.InvalidArgument, "no files to take columns from")
	}
	first := files[0]
	out := make([]Column, len(first.Columns))
	copy(out, first.Columns)
	for _, f := range files[1:] {
		for i, c := range f.Columns {
			if i >= len(out) {
				return nil, apierr.New(apierr.FailedPrecondition, "column %q is in %s but not in %s", c.Name, f.Path, first.Path)
			}
			want := out[i]
			if c.Name != want.Name {
				if idx := indexOf(out, c.Name); idx < 0 {
					return nil, apierr.New(apierr.FailedPrecondition, "column %q is in %s but not in %s", c.Name, f.Path, first.Path)
				}
				if idx := indexOf(f.Columns, want.Name); idx < 0 {
					return nil, apierr.New(apierr.FailedPrecondition, "column %q is in %s but not in %s", want.Name, first.Path, f.Path)
				}
				return nil, apierr.New(apierr.FailedPrecondition, "column %d is %q in %s but %q in %s", i+1, want.Name, first.Path, c.Name, f.Path)
			}
			if !c.Type.Equal(want.Type) {
				return nil, apierr.New(apierr.FailedPrecondition, "column %q is %s in %s but %s in %s", c.Name, want.Type, first.Path, c.Type, f.Path)
			}
			out[i].Nullable = out[i].Nullable || c.Nullable
		}
		if len(f.Columns) < len(out) {
			return nil, apierr.New(apierr.FailedPrecondition, "column %q is in %s but not in %s", out[len(f.Columns)].Name, first.Path, f.Path)
		}
	}
	return out, nil
}

func indexOf(cols []Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}
