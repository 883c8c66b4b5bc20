package catalog

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/policy"
	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

// visibleTables lists "db.table" names a user can read, using one compiled
// policy for all of them.
func (s *Service) visibleTables(ctx context.Context, user, db string) ([]string, error) {
	eng, err := s.Engine(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	err = s.eachTable(ctx, db, func(t store.Table) error {
		_, err := eng.Evaluate(user, tableKey(t.Database, t.Name), groupsOf(ctx, user)...)
		switch {
		case err == nil:
			out = append(out, tableKey(t.Database, t.Name))
		case s.unreadable(ctx, user, t, err):
		default:
			return err
		}
		return nil
	})
	return out, err
}

// unreadable reports whether err means user cannot read t, so that listings
// leave it out: no grant, or a policy that cannot be enforced on it (a
// query would be refused with FailedPrecondition naming the problem). The
// latter is logged for the operator; the listing goes on.
func (s *Service) unreadable(ctx context.Context, user string, t store.Table, err error) bool {
	switch {
	case apierr.Is(err, apierr.PermissionDenied):
		return true
	case apierr.Is(err, apierr.FailedPrecondition):
		if s.log == nil {
			return true
		}
		s.log.WarnContext(ctx, "a table is left out of a user's listing: its policy cannot be enforced",
			"user", user, "table", tableKey(t.Database, t.Name), "error", err)
		return true
	}
	return false
}

func (s *Service) eachTable(ctx context.Context, db string, fn func(store.Table) error) error {
	var dbs []string
	if db != "" {
		dbs = []string{db}
	} else {
		page := store.Page{PageSize: store.MaxPageSize}
		for {
			ds, next, err := s.store.ListDatabases(ctx, page)
			if err != nil {
				return err
			}
			for _, d := range ds {
				dbs = append(dbs, d.Name)
			}
			if next == "" {
				break
			}
			page.PageToken = next
		}
	}
	for _, d := range dbs {
		page := store.Page{PageSize: store.MaxPageSize}
		for {
			ts, next, err := s.store.ListTables(ctx, d, page)
			if err != nil {
				return err
			}
			for _, t := range ts {
				if err := fn(t); err != nil {
					return err
				}
			}
			if next == "" {
				break
			}
			page.PageToken = next
		}
	}
	return nil
}

func (s *Service) showDatabases(ctx context.Context, p auth.Principal, admin bool) (apitypes.SQLResult, error) {
	res := apitypes.SQLResult{Columns: []string{"database", "comment"}}
	if !admin {
		tables, err := s.visibleTables(ctx, p.User, "")
		if err != nil {
			return res, err
		}
		seen := map[string]bool{}
		for _, t := range tables {
			db, _, _ := strings.Cut(t, ".")
			if !seen[db] {
				seen[db] = true
				res.Rows = append(res.Rows, []string{db, ""})
			}
		}
		return res, nil
	}
	page := store.Page{PageSize: store.MaxPageSize}
	for {
		ds, next, err := s.store.ListDatabases(ctx, page)
		if err != nil {
			return res, err
		}
		for _, d := range ds {
			res.Rows = append(res.Rows, []string{d.Name, d.Comment})
		}
		if next == "" {
			return res, nil
		}
		page.PageToken = next
	}
}

func (s *Service) showTables(ctx context.Context, p auth.Principal, admin bool, st *statement.ShowTables) (apitypes.SQLResult, error) {
	res := apitypes.SQLResult{Columns: []string{"database", "table", "format", "location"}}
	if st.Database != "" {
		if _, err := s.store.GetDatabase(ctx, st.Database); err != nil {
			// A user sees no table of a database that does not exist, as
			// of one they may not read: the answer tells nothing apart.
			if !admin && apierr.Is(err, apierr.NotFound) {
				return res, nil
			}
			return res, err
		}
	}
	var visible map[string]bool
	if !admin {
		names, err := s.visibleTables(ctx, p.User, st.Database)
		if err != nil {
			return res, err
		}
		visible = map[string]bool{}
		for _, n := range names {
			visible[n] = true
		}
	}
	err := s.eachTable(ctx, st.Database, func(t store.Table) error {
		switch {
		case admin:
			res.Rows = append(res.Rows, []string{t.Database, t.Name, t.Format, t.Location})
		case visible[tableKey(t.Database, t.Name)]:
			// Storage locations are for administrators.
			res.Rows = append(res.Rows, []string{t.Database, t.Name, t.Format, ""})
		}
		return nil
	})
	return res, err
}

// describe shows an admin the whole table with tags and masks, and a user
// exactly the columns and masks policy gives them.
func (s *Service) describe(ctx context.Context, p auth.Principal, admin bool, st *statement.Describe) (apitypes.SQLResult, error) {
	res := apitypes.SQLResult{Columns: []string{"column", "type", "partition", "mask", "tags", "comment"}}
	if !admin {
		eff, err := s.ReadPolicy(ctx, p.User, st.Table.Database, st.Table.Table)
		if err != nil {
			return res, err
		}
		for _, c := range eff.Columns {
			mask := ""
			if c.Mask != nil {
				mask = c.Mask.String()
			}
			res.Rows = append(res.Rows, []string{c.Name, c.Type.String(), "", mask, "", ""})
		}
		return res, nil
	}
	t, err := s.store.GetTable(ctx, st.Table.Database, st.Table.Table)
	if err != nil {
		return res, err
	}
	tags, err := s.store.ColumnTags(ctx, t.Database, t.Name)
	if err != nil {
		return res, err
	}
	masks := map[string][]string{}
	page := store.Page{PageSize: store.MaxPageSize}
	for {
		ms, next, err := s.store.ListMasks(ctx, t.Database, t.Name, page)
		if err != nil {
			return res, err
		}
		for _, m := range ms {
			who := "everyone"
			if m.Principal != nil {
				who = string(m.Principal.Kind) + " " + m.Principal.Name
			}
			masks[m.Column] = append(masks[m.Column], fmt.Sprintf("%s for %s", maskString(m.Function, m.Args), who))
		}
		if next == "" {
			break
		}
		page.PageToken = next
	}
	for _, c := range t.Columns {
		part := ""
		if c.IsPartition {
			part = "yes"
		}
		ct := tags[c.Name]
		sort.Strings(ct)
		res.Rows = append(res.Rows, []string{c.Name, c.Type, part, strings.Join(masks[c.Name], "; "), strings.Join(ct, ", "), c.Comment})
	}
	res.Message = fmt.Sprintf("%s %s at %s", t.Format, statement.TableName{Database: t.Database, Table: t.Name}, t.Location)
	return res, nil
}

func maskString(fn string, args []int64) string {
	if len(args) == 0 {
		return fn
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprint(a)
	}
	return fn + "(" + strings.Join(parts, ", ") + ")"
}

func (s *Service) showGrants(ctx context.Context, st *statement.ShowGrants) (apitypes.SQLResult, error) {
	res := apitypes.SQLResult{Columns: []string{"id", "principal", "privilege", "on", "columns", "filter", "granted_by"}}
	var f store.GrantFilter
	if st.To != nil {
		r := principalRef(*st.To)
		f.Principal = &r
	}
	if st.On != nil {
		f.Database, f.Table = st.On.Database, st.On.Table
	}
	page := store.Page{PageSize: store.MaxPageSize}
	for {
		gs, next, err := s.store.ListGrants(ctx, f, page)
		if err != nil {
			return res, err
		}
		for _, g := range gs {
			on := GrantTarget(g)
			filter := ""
			if g.Filter != nil {
				filter = g.Filter.SQL
			}
			res.Rows = append(res.Rows, []string{g.ID, string(g.Principal.Kind) + " " + g.Principal.Name, string(g.Privilege),
				on, strings.Join(g.Columns, ", "), filter, g.GrantedBy})
		}
		if next == "" {
			return res, nil
		}
		page.PageToken = next
	}
}

// Evaluate is the effective policy of user on db.table.
func (s *Service) Evaluate(ctx context.Context, user, db, table string) (*policy.Effective, error) {
	eng, err := s.Engine(ctx)
	if err != nil {
		return nil, err
	}
	return eng.Evaluate(user, tableKey(db, table), groupsOf(ctx, user)...)
}

// ReadPolicy is Evaluate as the user who reads: a table that does not exist
// is answered like one the user may not read (PermissionDenied, the same
// message), so that errors tell a hidden table from none to nobody but a
// catalog admin. Planning, DESCRIBE and URL signing use it.
func (s *Service) ReadPolicy(ctx context.Context, user, db, table string) (*policy.Effective, error) {
	eng, err := s.Engine(ctx)
	if err != nil {
		return nil, err
	}
	eff, err := eng.Evaluate(user, tableKey(db, table), groupsOf(ctx, user)...)
	if apierr.Is(err, apierr.NotFound) && user != "" &&
		!slices.Contains(eng.Principals(user, groupsOf(ctx, user)...), policy.Ref{Kind: policy.KindRole, Name: policy.CatalogAdminRole}) {
		// A table that does not exist is answered like one the user may
		// not read: the error must not tell a hidden table from none.
		return nil, apierr.New(apierr.PermissionDenied, "user %s has no SELECT grant on %s", user, tableKey(db, table))
	}
	return eff, err
}

// GrantTarget renders what a grant covers: "catalog", "database d" or the
// quoted table name.
func GrantTarget(g store.Grant) string {
	switch g.Securable.Kind {
	case store.SecurableDatabase:
		return "database " + g.Securable.Database
	case store.SecurableTable:
		return statement.TableName{Database: g.Securable.Database, Table: g.Securable.Table}.String()
	}
	return "catalog"
}
