package catalog

import (
	"context"
	"sort"

	"github.com/nscale/nscale/controlplane/policy"
	"github.com/nscale/nscale/controlplane/store"
)

// VisibleTable is a table a user may read, with the columns the user sees
// (masked columns keep their type; a mask never changes it).
type VisibleTable struct {
	Database, Name string
	Columns        []policy.EffColumn
}

// Visible lists, for Flight SQL metadata on agents, the databases holding
// at least one table user may read and those tables with the user's
// columns, sorted by name, all from one compiled policy. A database
// without a readable table is not listed: its name alone tells the user
// something policy hides.
func (s *Service) Visible(ctx context.Context, user string) ([]string, []VisibleTable, error) {
	eng, err := s.Engine(ctx)
	if err != nil {
		return nil, nil, err
	}
	var tables []VisibleTable
	dbs := map[string]bool{}
	err = s.eachTable(ctx, "", func(t store.Table) error {
		eff, err := eng.Evaluate(user, tableKey(t.Database, t.Name), groupsOf(ctx, user)...)
		switch {
		case err == nil:
			tables = append(tables, VisibleTable{Database: t.Database, Name: t.Name, Columns: eff.Columns})
			dbs[t.Database] = true
		case s.unreadable(ctx, user, t, err):
		default:
			return err
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(dbs))
	for d := range dbs {
		names = append(names, d)
	}
	sort.Strings(names)
	sort.Slice(tables, func(i, j int) bool {
		if tables[i].Database != tables[j].Database {
			return tables[i].Database < tables[j].Database
		}
		return tables[i].Name < tables[j].Name
	})
	return names, tables, nil
}
