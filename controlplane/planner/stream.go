package planner

import (
	"context"
	"fmt"
	"strings"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/policy"
	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// request is one query being planned, filled phase by phase by Stream.
type request struct {
	user      string
	groups    []string // the credential's own groups (auth.GroupsFor)
	q         *statement.Query
	part      *split
	db, name  string
	tableName string
	eff       *policy.Effective
	table     store.Table
	visible   map[string]*policy.EffColumn

	// Filled by project and predicate: task columns are named by the
	// stored column, the schema by the output name.
	taskCols, schema []taskplan.Column
	projected        map[string]bool // stored columns the task reads
	pred             sqlsubset.Expr  // the user's WHERE, coerced and simplified
}

// resolve parses sql, takes out the split pseudo-predicate, and reads the
// user's effective policy on the table and the table itself.
func (p *Planner) resolve(ctx context.Context, user, sql string) (*request, error) {
	if user == "" {
		return nil, apierr.New(apierr.Unauthenticated, "planning needs a user")
	}
	q, err := statement.ParseQuery(sql)
	if err != nil {
		return nil, err
	}
	where, part, err := takeSplit(q.Where)
	if err != nil {
		return nil, err
	}
	q.Where = where
	r := &request{user: user, groups: auth.GroupsFor(ctx, user), q: q, part: part, db: q.Table.Database, name: q.Table.Table, projected: map[string]bool{}}
	r.tableName = r.db + "." + r.name
	if r.eff, err = p.cat.ReadPolicy(ctx, user, r.db, r.name); err != nil {
		return nil, err
	}
	if r.table, err = p.st.GetTable(ctx, r.db, r.name); err != nil {
		return nil, err
	}
	r.visible = make(map[string]*policy.EffColumn, len(r.eff.Columns))
	for i := range r.eff.Columns {
		r.visible[r.eff.Columns[i].Name] = &r.eff.Columns[i]
	}
	return r, nil
}

// unavailable is the one answer for a column the user may not read and a
// column the table does not have, so that a query cannot probe which
// columns exist.
func (r *request) unavailable(col string) error {
	return apierr.New(apierr.PermissionDenied, "column %s is not available in %s", col, r.tableName)
}

// add projects column c under the output name out.
func (r *request) add(c *policy.EffColumn, out string) {
	tc := taskplan.Column{Name: c.Name, Type: c.Type.String(), Mask: c.Mask, CellFilter: sqlsubset.Tree{Expr: c.CellFilter}}
	if out != c.Name {
		tc.As = out
	}
	r.taskCols = append(r.taskCols, tc)
	tc.Name, tc.As = out, ""
	r.schema = append(r.schema, tc)
}

// project builds the task's columns and the plan's schema from the SELECT
// list: *, columns, struct fields and constants.
func (r *request) project() error {
	if r.q.Star {
		for i := range r.eff.Columns {
			r.add(&r.eff.Columns[i], r.eff.Columns[i].Name)
			r.projected[r.eff.Columns[i].Name] = true
		}
	} else {
		outNames := map[string]bool{}
		selected := map[string]bool{}
		claim := func(out string) error {
			if outNames[out] {
				return apierr.New(apierr.InvalidArgument, "output column name %s appears twice", out)
			}
			outNames[out] = true
			return nil
		}
		for i, sc := range r.q.Columns {
			if sc.Const != nil {
				// SELECT 1: a column of the constant, nothing read for it.
				out := sc.Name
				if sc.Alias != "" {
					out = sc.Alias
				}
				if err := claim(out); err != nil {
					return err
				}
				v := sc.Const.Int
				r.taskCols = append(r.taskCols, taskplan.Column{Name: fmt.Sprintf("_nscale_const_%d", i), As: out, Type: "int64", Const: &v})
				r.schema = append(r.schema, taskplan.Column{Name: out, Type: "int64"})
				continue
			}
			if err := r.projectColumn(sc, selected, claim); err != nil {
				return err
			}
		}
	}
	if len(r.taskCols) == 0 {
		return apierr.New(apierr.PermissionDenied, "no column of %s is available to user %s", r.tableName, r.user)
	}
	return nil
}

// projectColumn projects one selected column or struct field.
func (r *request) projectColumn(sc statement.SelectColumn, selected map[string]bool, claim func(string) error) error {
	c, ok := r.visible[sc.Name]
	if !ok {
		return r.unavailable(sc.Name)
	}
	full := strings.Join(append([]string{sc.Name}, sc.Path...), ".")
	if selected[full] {
		return apierr.New(apierr.InvalidArgument, "column %s is selected twice; selecting a column more than once is not supported yet", full)
	}
	selected[full] = true
	out := sc.Name
	if len(sc.Path) > 0 {
		out = sc.Path[len(sc.Path)-1]
	}
	if sc.Alias != "" {
		out = sc.Alias
	}
	if err := claim(out); err != nil {
		return err
	}
	r.projected[sc.Name] = true
	if len(sc.Path) == 0 {
		r.add(c, out)
		return nil
	}
	// A struct field: the task reads the column (its cell filter and mask
	// apply to the whole struct) and returns the field.
	ft, err := taskplan.FieldType(c.Type, sc.Path)
	if err != nil {
		return apierr.New(apierr.InvalidArgument, "%s: %v", full, err)
	}
	tc := taskplan.Column{Name: c.Name, Type: c.Type.String(), Mask: c.Mask, CellFilter: sqlsubset.Tree{Expr: c.CellFilter}, Field: sc.Path}
	if out != c.Name {
		tc.As = out
	}
	r.taskCols = append(r.taskCols, tc)
	r.schema = append(r.schema, taskplan.Column{Name: out, Type: ft.String(), Mask: c.Mask})
	return nil
}

// predicate checks the user's WHERE: visible columns only, type-checked
// against their types, evaluated by the agent after the masks. A column
// read only for it is masked and cell-filtered like an output column: the
// WHERE sees what the user would see.
func (r *request) predicate() error {
	if r.q.Where == nil {
		return nil
	}
	for _, col := range sqlsubset.Columns(r.q.Where) {
		c, ok := r.visible[col]
		if !ok {
			return r.unavailable(col)
		}
		if !r.projected[col] {
			r.projected[col] = true
			r.taskCols = append(r.taskCols, taskplan.Column{Name: c.Name, Type: c.Type.String(), Mask: c.Mask,
				CellFilter: sqlsubset.Tree{Expr: c.CellFilter}, FilterOnly: true})
		}
	}
	schemaOf := make(sqlsubset.Schema, len(r.eff.Columns))
	for _, c := range r.eff.Columns {
		schemaOf[c.Name] = c.Type
	}
	coerced, err := sqlsubset.Coerce(r.q.Where, schemaOf)
	if err != nil {
		return err // InvalidArgument, naming the column or subexpression
	}
	r.pred = sqlsubset.Simplify(coerced)
	if l, ok := r.pred.(*sqlsubset.Literal); ok && l.Type.ID == sqlsubset.Bool && l.Bool {
		r.pred = nil
	}
	return nil
}
