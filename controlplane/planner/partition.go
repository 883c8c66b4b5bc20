package planner

import (
	"encoding/json"
	"strconv"

	"github.com/nscale/nscale/controlplane/discovery"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// partitionColumn is a partition column with its parsed type, parsed once
// per plan rather than once per file.
type partitionColumn struct {
	name string
	typ  sqlsubset.Type
}

// partitionValues gives the agent a file's partition values in the task's
// canonical text (see taskplan.Object.Partition). A value that does not fit
// its column's type fails the plan: guessing would serve wrong values.
func partitionValues(f store.File, cols []partitionColumn, table string) (map[string]*string, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	out := make(map[string]*string, len(cols))
	for _, c := range cols {
		raw, ok := f.Partition[c.name]
		if !ok {
			return nil, apierr.New(apierr.FailedPrecondition, "file %s of %s has no value for partition column %s; run REFRESH TABLE %s", f.Path, table, c.name, table)
		}
		t := c.typ
		lit, err := discovery.PartitionValue(t, raw)
		if err != nil {
			return nil, apierr.New(apierr.FailedPrecondition, "file %s of %s: partition value %q is not a %s: %v", f.Path, table, raw, t, err)
		}
		out[c.name] = literalText(lit)
	}
	return out, nil
}

func literalText(l *sqlsubset.Literal) *string {
	var s string
	switch l.Type.ID {
	case sqlsubset.Null:
		return nil
	case sqlsubset.Bool:
		s = strconv.FormatBool(l.Bool)
	case sqlsubset.Int64, sqlsubset.Date32, sqlsubset.Timestamp:
		s = strconv.FormatInt(l.Int, 10)
		if l.Type.ID == sqlsubset.Date32 {
			s = sqlsubset.FormatDate(int32(l.Int))
		}
	case sqlsubset.Uint64:
		s = strconv.FormatUint(l.Uint, 10)
	case sqlsubset.Float64:
		s = strconv.FormatFloat(l.Float, 'g', -1, 64)
	case sqlsubset.Binary:
		s = string(l.Bytes)
	default: // Decimal128 (unscaled digits) and String
		s = l.Str
	}
	return &s
}

// fileColumnsOption adds the agent's "columns" format option (the table's
// non-partition columns in file order with their catalog types) to the
// table's format options. It is signed with the task, and TBLPROPERTIES
// cannot set it: only the reader options are copied from them.
func fileColumnsOption(table store.Table) (map[string]string, error) {
	type col struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	var cols []col
	for _, c := range table.Columns {
		if c.IsPartition {
			continue
		}
		t, err := sqlsubset.ParseType(c.Type)
		if err != nil {
			return nil, apierr.Wrap(apierr.Internal, err, "column %s of %s.%s", c.Name, table.Database, table.Name)
		}
		cols = append(cols, col{c.Name, t.String()})
	}
	b, err := json.Marshal(cols)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "columns of %s.%s", table.Database, table.Name)
	}
	opts := make(map[string]string, len(table.FormatOptions)+1)
	for k, v := range table.FormatOptions {
		opts[k] = v
	}
	opts["columns"] = string(b)
	return opts, nil
}
