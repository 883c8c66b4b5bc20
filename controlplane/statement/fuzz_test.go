package statement_test

import (
	"testing"

	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// requireInvalidArgument checks that err is an *apierr.Error (not wrapped)
// with code InvalidArgument.
func requireInvalidArgument(t *testing.T, err error) {
	t.Helper()
	ae, ok := err.(*apierr.Error)
	if !ok || ae.Code != apierr.InvalidArgument {
		t.Fatalf("error %T %v is not an InvalidArgument *apierr.Error", err, err)
	}
}

// FuzzParse checks that Parse never panics, rejects only with InvalidArgument
// errors, and that what it accepts is consistent: spans inside the input,
// valid masks, and row filters that are valid trees, survive the JSON codec
// and render to SQL that parses back to the same tree.
func FuzzParse(f *testing.F) {
	for _, c := range validCases {
		f.Add(c.sql)
	}
	for _, c := range invalidCases {
		f.Add(c.sql)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		sts, err := statement.Parse(sql)
		if err != nil {
			requireInvalidArgument(t, err)
			if sts != nil {
				t.Fatal("statements returned with an error")
			}
			return
		}
		if len(sts) == 0 {
			t.Fatal("no statements and no error")
		}
		prevEnd := 0
		for _, st := range sts {
			sp := st.Source()
			if sp.Start < prevEnd || sp.End <= sp.Start || sp.End > len(sql) || sql[sp.Start:sp.End] != sp.Text || sp.Line < 1 || sp.Col < 1 {
				t.Fatalf("bad span %+v", sp)
			}
			prevEnd = sp.End
			if st.Kind() == "" {
				t.Fatal("empty kind")
			}
			var filter sqlsubset.Expr
			switch s := st.(type) {
			case *statement.GrantSelect:
				filter = s.Filter
			case *statement.CreateSafeguardPolicy:
				filter = s.Filter
				if s.Mask != nil {
					if err := s.Mask.Validate(); err != nil {
						t.Fatalf("invalid mask: %v", err)
					}
				}
			case *statement.SetColumnMask:
				if err := s.Mask.Validate(); err != nil {
					t.Fatalf("invalid mask: %v", err)
				}
			case *statement.CreateTagPolicy:
				if err := s.Mask.Validate(); err != nil {
					t.Fatalf("invalid mask: %v", err)
				}
			case *statement.CreateTable:
				for _, c := range append(append([]statement.Column{}, s.Columns...), s.PartitionedBy...) {
					if err := c.Type.Validate(); err != nil {
						t.Fatalf("invalid column type: %v", err)
					}
				}
			}
			if filter == nil {
				continue
			}
			if err := sqlsubset.Validate(filter); err != nil {
				t.Fatalf("invalid filter %s: %v", filter, err)
			}
			enc, err := sqlsubset.Marshal(filter)
			if err != nil {
				t.Fatalf("Marshal(%s): %v", filter, err)
			}
			dec, err := sqlsubset.Unmarshal(enc)
			if err != nil || !sqlsubset.Equal(dec, filter) {
				t.Fatalf("JSON round trip of %s: %v", filter, err)
			}
			back, err := statement.ParseFilter(filter.String())
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", filter, err)
			}
			if !sqlsubset.Equal(back, filter) {
				t.Fatalf("String round trip changed the filter:\n%s\n%s", filter, back)
			}
		}
	})
}

// FuzzParseColumnType checks that the type parser never panics, rejects
// only with InvalidArgument errors, and that every type it returns is valid,
// has a canonical string sqlsubset reads back, and an SQL spelling that it
// reads back to the same type.
func FuzzParseColumnType(f *testing.F) {
	for _, s := range []string{
		"BIGINT", "decimal(10,2)", "struct<a:int,b:array<string>>", "timestamp(3) with time zone", "int[][]",
		"STRUCT<`Mixed`: DOUBLE PRECISION, \"q\" char varying(3)>", "array<struct<x:timestamp_ltz>>", "float(24)",
		"map<string,int>", "struct<a int, a int>", "array<",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := statement.ParseColumnType(s)
		if err != nil {
			requireInvalidArgument(t, err)
			return
		}
		if err := typ.Validate(); err != nil {
			t.Fatalf("invalid type %s: %v", typ, err)
		}
		canon, err := sqlsubset.ParseType(typ.String())
		if err != nil || !canon.Equal(typ) {
			t.Fatalf("ParseType(%s): %v", typ, err)
		}
		back, err := statement.ParseColumnType(sqlsubset.SQLTypeName(typ))
		if err != nil || !back.Equal(typ) {
			t.Fatalf("ParseColumnType(%s) = %v, %v; want %s", sqlsubset.SQLTypeName(typ), back, err, typ)
		}
	})
}
