package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/policy"
	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// write is one change statement on its way into the store.
type write struct {
	s         *Service
	p         auth.Principal
	st        statement.Statement
	requestID string
}

// run prepares what needs I/O outside the transaction (listing files,
// inferring a schema), then applies the change and its audit event in one
// transaction.
func (w *write) run(ctx context.Context) (apitypes.SQLResult, error) {
	var prep *tablePrep
	switch st := w.st.(type) {
	case *statement.CreateTable:
		var err error
		if prep, err = w.s.prepareCreate(ctx, st); err != nil {
			return apitypes.SQLResult{}, err
		}
	case *statement.RefreshTable:
		var err error
		if prep, err = w.s.prepareRefresh(ctx, st.Table); err != nil {
			return apitypes.SQLResult{}, err
		}
	}
	var res apitypes.SQLResult
	err := w.s.store.InTx(ctx, func(tx *store.Tx) error {
		before, err := tx.PolicyVersion(ctx)
		if err != nil {
			return err
		}
		msg, target, err := w.apply(ctx, tx, prep)
		if err != nil {
			return err
		}
		after, err := tx.PolicyVersion(ctx)
		if err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]string{"message": msg})
		if _, err := tx.AppendAudit(ctx, store.AuditEvent{
			Time: w.s.now(), Actor: w.p.Name(), Action: w.st.Kind(), Target: target, Outcome: "ok",
			Statement: w.st.Source().Text, Detail: detail,
			PolicyVersionBefore: before, PolicyVersionAfter: after, RequestID: w.requestID,
		}); err != nil {
			return err
		}
		res = apitypes.SQLResult{Message: msg, PolicyVersion: after}
		return nil
	})
	return res, err
}

// apply makes the change; it returns the message for the caller and the
// audit target.
func (w *write) apply(ctx context.Context, tx *store.Tx, prep *tablePrep) (string, string, error) {
	switch st := w.st.(type) {
	case *statement.CreateDatabase:
		// Look before writing: a failed INSERT aborts a PostgreSQL
		// transaction, and the store bumps the policy version first.
		if st.IfNotExists {
			if _, err := tx.GetDatabase(ctx, st.Name); err == nil {
				return fmt.Sprintf("database %s already exists", st.Name), st.Name, nil
			} else if !apierr.Is(err, apierr.NotFound) {
				return "", "", err
			}
		}
		_, err := tx.CreateDatabase(ctx, store.Database{Name: st.Name, Comment: st.Comment})
		return "created database " + st.Name, st.Name, err
	case *statement.DropDatabase:
		return w.dropDatabase(ctx, tx, st)
	case *statement.CreateTable:
		return w.createTable(ctx, tx, st, prep)
	case *statement.DropTable:
		t, err := tx.GetTable(ctx, st.Table.Database, st.Table.Table)
		if st.IfExists && apierr.Is(err, apierr.NotFound) {
			return "table " + st.Table.String() + " does not exist", st.Table.String(), nil
		}
		if err != nil {
			return "", "", err
		}
		return "dropped table " + st.Table.String(), st.Table.String(), tx.DeleteTable(ctx, t.Database, t.Name, t.Version)
	case *statement.RefreshTable:
		ref := store.TableRef{Database: st.Table.Database, Name: st.Table.Table}
		if err := tx.ReplaceFiles(ctx, ref, prep.files, w.s.now()); err != nil {
			return "", "", err
		}
		return fmt.Sprintf("refreshed %s: %d files", st.Table, len(prep.files)), st.Table.String(), nil
	case *statement.AlterTableSetProperties:
		t, err := tx.GetTable(ctx, st.Table.Database, st.Table.Table)
		if err != nil {
			return "", "", err
		}
		if t.Properties == nil {
			t.Properties = map[string]string{}
		}
		for _, p := range st.Properties {
			t.Properties[p.Key] = p.Value
		}
		if err := applyFormatOptions(&t); err != nil {
			return "", "", err
		}
		_, err = tx.UpdateTable(ctx, t)
		return "updated properties of " + st.Table.String(), st.Table.String(), err
	case *statement.AlterTableAddColumns:
		t, err := tx.GetTable(ctx, st.Table.Database, st.Table.Table)
		if err != nil {
			return "", "", err
		}
		cols := make([]store.Column, len(st.Columns))
		for i, c := range st.Columns {
			cols[i] = store.Column{Name: c.Name, Type: c.Type.String(), Nullable: !c.NotNull, Comment: c.Comment}
		}
		_, err = tx.AddColumns(ctx, t.Database, t.Name, cols, t.Version)
		return fmt.Sprintf("added %d column(s) to %s", len(cols), st.Table), st.Table.String(), err
	case *statement.CreateRole:
		_, err := tx.CreatePrincipal(ctx, store.Principal{Kind: store.Role, Name: st.Name})
		return "created role " + st.Name, "role " + st.Name, err
	case *statement.DropRole:
		r, err := tx.GetPrincipal(ctx, store.PrincipalRef{Kind: store.Role, Name: st.Name})
		if st.IfExists && apierr.Is(err, apierr.NotFound) {
			return "role " + st.Name + " does not exist", "role " + st.Name, nil
		}
		if err != nil {
			return "", "", err
		}
		return "dropped role " + st.Name, "role " + st.Name, tx.DeletePrincipal(ctx, store.PrincipalRef{Kind: store.Role, Name: st.Name}, r.Version)
	case *statement.GrantRole:
		return w.grantRoles(ctx, tx, st.Roles, st.To, true)
	case *statement.RevokeRole:
		return w.grantRoles(ctx, tx, st.Roles, st.From, false)
	case *statement.GrantCatalogAdmin:
		return w.grantRoles(ctx, tx, []string{policy.CatalogAdminRole}, st.To, true)
	case *statement.RevokeCatalogAdmin:
		return w.grantRoles(ctx, tx, []string{policy.CatalogAdminRole}, st.From, false)
	case *statement.GrantSelect:
		return w.grantSelect(ctx, tx, st)
	case *statement.RevokeSelect:
		return w.revokeSelect(ctx, tx, st)
	case *statement.GrantUnmask:
		return w.grantUnmask(ctx, tx, st.On, st.To)
	case *statement.RevokeUnmask:
		return w.revokeUnmask(ctx, tx, st.On, st.From)
	case *statement.SetColumnMask:
		return w.setMask(ctx, tx, st)
	case *statement.DropColumnMask:
		var who *store.PrincipalRef
		if st.For != nil {
			r := principalRef(*st.For)
			who = &r
		}
		target := st.Table.String() + "." + st.Column
		return "dropped mask on " + target, target, tx.DropMask(ctx, st.Table.Database, st.Table.Table, st.Column, who)
	case *statement.SetColumnTags:
		if _, err := w.column(ctx, tx, st.Table, st.Column); err != nil {
			return "", "", err
		}
		if err := checkTags(st.Tags); err != nil {
			return "", "", err
		}
		target := st.Table.String() + "." + st.Column
		return fmt.Sprintf("tagged %s with %s", target, strings.Join(st.Tags, ", ")), target,
			tx.SetColumnTags(ctx, st.Table.Database, st.Table.Table, st.Column, st.Tags)
	case *statement.UnsetColumnTags:
		target := st.Table.String() + "." + st.Column
		return fmt.Sprintf("removed tags %s from %s", strings.Join(st.Tags, ", "), target), target,
			tx.UnsetColumnTags(ctx, st.Table.Database, st.Table.Table, st.Column, st.Tags)
	case *statement.CreateTagPolicy:
		if err := st.Mask.Validate(); err != nil {
			return "", "", err
		}
		if err := checkTags([]string{st.Tag}); err != nil {
			return "", "", err
		}
		_, err := tx.CreatePolicy(ctx, store.Policy{Name: st.Name, Kind: store.TagMask, TagPattern: st.Tag,
			MaskFunction: st.Mask.Func, MaskArgs: st.Mask.Args, UnlessUnmaskTag: st.UnlessUnmask})
		return "created tag policy " + st.Name, "policy " + st.Name, err
	case *statement.CreateSafeguardPolicy:
		return w.createSafeguard(ctx, tx, st)
	case *statement.DropTagPolicy:
		return w.dropPolicy(ctx, tx, st.Name, st.IfExists, store.TagMask)
	case *statement.DropSafeguardPolicy:
		return w.dropPolicy(ctx, tx, st.Name, st.IfExists, store.SafeguardMask, store.SafeguardFilter)
	}
	return "", "", apierr.New(apierr.InvalidArgument, "%s is not supported yet", w.st.Kind())
}

func (w *write) dropDatabase(ctx context.Context, tx *store.Tx, st *statement.DropDatabase) (string, string, error) {
	d, err := tx.GetDatabase(ctx, st.Name)
	if st.IfExists && apierr.Is(err, apierr.NotFound) {
		return "database " + st.Name + " does not exist", st.Name, nil
	}
	if err != nil {
		return "", "", err
	}
	if st.Cascade {
		page := store.Page{PageSize: store.MaxPageSize}
		for {
			tables, next, err := tx.ListTables(ctx, st.Name, page)
			if err != nil {
				return "", "", err
			}
			for _, t := range tables {
				if err := tx.DeleteTable(ctx, t.Database, t.Name, t.Version); err != nil {
					return "", "", err
				}
			}
			if next == "" {
				break
			}
			page.PageToken = next
		}
	}
	err = tx.DeleteDatabase(ctx, d.Name, d.Version)
	if apierr.Is(err, apierr.FailedPrecondition) && !st.Cascade {
		return "", "", apierr.Wrap(apierr.FailedPrecondition, err, "database %s still has tables; drop them or use DROP DATABASE %s CASCADE", st.Name, st.Name)
	}
	return "dropped database " + st.Name, st.Name, err
}

// ensurePrincipal returns a grantee's ref. Roles must exist (they are made
// with CREATE ROLE); users and groups come from the identity provider and
// are recorded on first use.
func ensurePrincipal(ctx context.Context, tx *store.Tx, p statement.Principal) (store.PrincipalRef, error) {
	ref := principalRef(p)
	_, err := tx.GetPrincipal(ctx, ref)
	if err == nil {
		return ref, nil
	}
	if !apierr.Is(err, apierr.NotFound) {
		return ref, err
	}
	if ref.Kind == store.Role {
		return ref, apierr.New(apierr.NotFound, "role %s does not exist; CREATE ROLE %s first", ref.Name, ref.Name)
	}
	_, err = tx.CreatePrincipal(ctx, store.Principal{Kind: ref.Kind, Name: ref.Name})
	return ref, err
}

func principalRef(p statement.Principal) store.PrincipalRef {
	switch p.Kind {
	case statement.User:
		return store.PrincipalRef{Kind: store.User, Name: p.Name}
	case statement.Group:
		return store.PrincipalRef{Kind: store.Group, Name: p.Name}
	}
	return store.PrincipalRef{Kind: store.Role, Name: p.Name}
}

func describePrincipals(ps []statement.Principal) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p.Kind) + " " + p.Name
	}
	return strings.Join(out, ", ")
}

func (w *write) grantRoles(ctx context.Context, tx *store.Tx, roles []string, to []statement.Principal, grant bool) (string, string, error) {
	for _, r := range roles {
		role := store.PrincipalRef{Kind: store.Role, Name: r}
		if _, err := tx.GetPrincipal(ctx, role); err != nil {
			if apierr.Is(err, apierr.NotFound) {
				return "", "", apierr.New(apierr.NotFound, "role %s does not exist; CREATE ROLE %s first", r, r)
			}
			return "", "", err
		}
		for _, p := range to {
			if grant {
				member, err := ensurePrincipal(ctx, tx, p)
				if err != nil {
					return "", "", err
				}
				parents, err := tx.Memberships(ctx, member)
				if err != nil {
					return "", "", err
				}
				if slices.ContainsFunc(parents, func(p store.Principal) bool { return p.Kind == role.Kind && p.Name == role.Name }) {
					continue // already granted; an INSERT would abort the transaction on PostgreSQL
				}
				if err := tx.AddMembership(ctx, member, role); err != nil {
					return "", "", err
				}
				continue
			}
			if err := tx.RemoveMembership(ctx, principalRef(p), role); err != nil {
				return "", "", err
			}
		}
	}
	verb, prep := "granted", "to"
	if !grant {
		verb, prep = "revoked", "from"
	}
	target := "role " + strings.Join(roles, ", ")
	return fmt.Sprintf("%s %s %s %s", verb, target, prep, describePrincipals(to)), target, nil
}

// column returns a table's column, or NotFound naming both.
func (w *write) column(ctx context.Context, tx *store.Tx, tn statement.TableName, col string) (store.Column, error) {
	t, err := tx.GetTable(ctx, tn.Database, tn.Table)
	if err != nil {
		return store.Column{}, err
	}
	for _, c := range t.Columns {
		if c.Name == col {
			return c, nil
		}
	}
	return store.Column{}, apierr.New(apierr.NotFound, "table %s has no column %s", tn, col)
}

// schemaOf is a table's columns as the expression checker sees them.
func schemaOf(t store.Table) (sqlsubset.Schema, error) {
	cols := make(map[string]string, len(t.Columns))
	for _, c := range t.Columns {
		cols[c.Name] = c.Type
	}
	return sqlsubset.ParseSchema(cols)
}

// checkFilter type-checks a row filter against a table at write time, so an
// unknown column or function is refused now rather than failing reads later.
func checkFilter(t store.Table, e sqlsubset.Expr) (*store.RowFilter, error) {
	schema, err := schemaOf(t)
	if err != nil {
		return nil, err
	}
	if err := sqlsubset.TypeCheck(e, schema); err != nil {
		return nil, apierr.Wrap(apierr.InvalidArgument, err, "row filter on %s.%s", t.Database, t.Name)
	}
	b, err := sqlsubset.Marshal(e)
	if err != nil {
		return nil, apierr.Wrap(apierr.InvalidArgument, err, "row filter on %s.%s", t.Database, t.Name)
	}
	return &store.RowFilter{Expression: string(b), SQL: e.String()}, nil
}

func (w *write) grantSelect(ctx context.Context, tx *store.Tx, st *statement.GrantSelect) (string, string, error) {
	sec, target, t, err := securable(ctx, tx, st.On)
	if err != nil {
		return "", "", err
	}
	if t == nil && (len(st.Columns) > 0 || st.Filter != nil) {
		return "", "", apierr.New(apierr.InvalidArgument, "column lists and WHERE filters attach to a table grant (ON TABLE db.t), not to database %s", st.On.Database)
	}
	var filter *store.RowFilter
	if t != nil {
		for _, c := range st.Columns {
			if !hasColumn(*t, c) {
				return "", "", apierr.New(apierr.NotFound, "table %s has no column %s", target, c)
			}
		}
		if st.Filter != nil {
			if filter, err = checkFilter(*t, st.Filter); err != nil {
				return "", "", err
			}
		}
	}
	for _, p := range st.To {
		ref, err := ensurePrincipal(ctx, tx, p)
		if err != nil {
			return "", "", err
		}
		g := store.Grant{Principal: ref, Privilege: store.Select, Securable: sec, Columns: st.Columns, GrantedBy: w.p.Name()}
		if filter != nil {
			f := *filter
			g.Filter = &f
		}
		if _, err := tx.CreateGrant(ctx, g); err != nil {
			return "", "", err
		}
	}
	msg := fmt.Sprintf("granted SELECT%s on %s to %s", columnList(st.Columns), target, describePrincipals(st.To))
	if filter != nil {
		msg += " where " + filter.SQL
	}
	return msg, target, nil
}

func (w *write) revokeSelect(ctx context.Context, tx *store.Tx, st *statement.RevokeSelect) (string, string, error) {
	sec, target, _, err := securable(ctx, tx, st.On)
	if err != nil {
		return "", "", err
	}
	total := 0
	for _, p := range st.From {
		n, err := tx.RevokeGrants(ctx, principalRef(p), sec, st.Columns)
		if err != nil {
			return "", "", err
		}
		total += n
	}
	return fmt.Sprintf("revoked %d grant(s) of SELECT%s on %s from %s", total, columnList(st.Columns), target, describePrincipals(st.From)), target, nil
}

// securable resolves a grant's object; the table is nil for a database.
func securable(ctx context.Context, tx *store.Tx, on statement.Object) (store.Securable, string, *store.Table, error) {
	if on.Table == "" {
		if _, err := tx.GetDatabase(ctx, on.Database); err != nil {
			return store.Securable{}, "", nil, err
		}
		return store.Securable{Kind: store.SecurableDatabase, Database: on.Database}, "database " + on.Database, nil, nil
	}
	t, err := tx.GetTable(ctx, on.Database, on.Table)
	if err != nil {
		return store.Securable{}, "", nil, err
	}
	name := statement.TableName(on).String()
	return store.Securable{Kind: store.SecurableTable, Database: on.Database, Table: on.Table}, name, &t, nil
}

func hasColumn(t store.Table, name string) bool {
	for _, c := range t.Columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

func columnList(cols []string) string {
	if len(cols) == 0 {
		return ""
	}
	return " (" + strings.Join(cols, ", ") + ")"
}

func (w *write) grantUnmask(ctx context.Context, tx *store.Tx, on statement.UnmaskTarget, to []statement.Principal) (string, string, error) {
	u, target, err := w.unmaskTarget(ctx, tx, on)
	if err != nil {
		return "", "", err
	}
	for _, p := range to {
		ref, err := ensurePrincipal(ctx, tx, p)
		if err != nil {
			return "", "", err
		}
		u.Principal = ref
		if _, err := tx.CreateUnmask(ctx, u); err != nil {
			return "", "", err
		}
	}
	return fmt.Sprintf("granted UNMASK on %s to %s", target, describePrincipals(to)), target, nil
}

func (w *write) revokeUnmask(ctx context.Context, tx *store.Tx, on statement.UnmaskTarget, from []statement.Principal) (string, string, error) {
	want, target, err := w.unmaskTarget(ctx, tx, on)
	if err != nil {
		return "", "", err
	}
	n := 0
	for _, p := range from {
		ref := principalRef(p)
		page := store.Page{PageSize: store.MaxPageSize}
		for {
			us, next, err := tx.ListUnmasks(ctx, store.UnmaskFilter{Principal: &ref}, page)
			if err != nil {
				return "", "", err
			}
			for _, u := range us {
				if u.Database == want.Database && u.Table == want.Table && u.Column == want.Column && u.Tag == want.Tag {
					if err := tx.DeleteUnmask(ctx, u.ID, u.Version); err != nil {
						return "", "", err
					}
					n++
				}
			}
			if next == "" {
				break
			}
			page.PageToken = next
		}
	}
	if n == 0 {
		return "", "", apierr.New(apierr.NotFound, "no UNMASK on %s is held by %s", target, describePrincipals(from))
	}
	return fmt.Sprintf("revoked UNMASK on %s from %s", target, describePrincipals(from)), target, nil
}

func (w *write) unmaskTarget(ctx context.Context, tx *store.Tx, on statement.UnmaskTarget) (store.Unmask, string, error) {
	if on.Tag != "" {
		if err := checkTags([]string{on.Tag}); err != nil {
			return store.Unmask{}, "", err
		}
		return store.Unmask{Tag: on.Tag}, "tag " + on.Tag, nil
	}
	if _, err := w.column(ctx, tx, on.Table, on.Column); err != nil {
		return store.Unmask{}, "", err
	}
	return store.Unmask{Database: on.Table.Database, Table: on.Table.Table, Column: on.Column}, "column " + on.Table.String() + "." + on.Column, nil
}

func (w *write) setMask(ctx context.Context, tx *store.Tx, st *statement.SetColumnMask) (string, string, error) {
	col, err := w.column(ctx, tx, st.Table, st.Column)
	if err != nil {
		return "", "", err
	}
	typ, err := sqlsubset.ParseType(col.Type)
	if err != nil {
		return "", "", apierr.Wrap(apierr.Internal, err, "column %s has an unreadable type", col.Name)
	}
	if err := st.Mask.Validate(); err != nil {
		return "", "", err
	}
	if err := st.Mask.CheckType(typ); err != nil {
		return "", "", apierr.Wrap(apierr.InvalidArgument, err, "mask on %s.%s", st.Table, st.Column)
	}
	m := store.Mask{Database: st.Table.Database, Table: st.Table.Table, Column: st.Column, Function: st.Mask.Func, Args: st.Mask.Args}
	who := "everyone"
	if st.For != nil {
		ref, err := ensurePrincipal(ctx, tx, *st.For)
		if err != nil {
			return "", "", err
		}
		m.Principal = &ref
		who = string(ref.Kind) + " " + ref.Name
	}
	if _, err := tx.SetMask(ctx, m); err != nil {
		return "", "", err
	}
	target := st.Table.String() + "." + st.Column
	return fmt.Sprintf("masked %s with %s for %s", target, st.Mask.String(), who), target, nil
}

func (w *write) createSafeguard(ctx context.Context, tx *store.Tx, st *statement.CreateSafeguardPolicy) (string, string, error) {
	p := store.Policy{Name: st.Name}
	if st.Mask != nil {
		if err := st.Mask.Validate(); err != nil {
			return "", "", err
		}
		if err := checkTags([]string{st.Tag}); err != nil {
			return "", "", err
		}
		p.Kind, p.TagPattern, p.MaskFunction, p.MaskArgs = store.SafeguardMask, st.Tag, st.Mask.Func, st.Mask.Args
	} else {
		if st.Table == nil || st.Filter == nil {
			return "", "", apierr.New(apierr.InvalidArgument, "a safeguard policy needs ON TAG ... MASK or ON TABLE ... WHERE")
		}
		t, err := tx.GetTable(ctx, st.Table.Database, st.Table.Table)
		if err != nil {
			return "", "", err
		}
		f, err := checkFilter(t, st.Filter)
		if err != nil {
			return "", "", err
		}
		p.Kind, p.Database, p.Table, p.FilterExpression, p.FilterSQL = store.SafeguardFilter, t.Database, t.Name, f.Expression, f.SQL
	}
	_, err := tx.CreatePolicy(ctx, p)
	return "created safeguard policy " + st.Name, "policy " + st.Name, err
}

func (w *write) dropPolicy(ctx context.Context, tx *store.Tx, name string, ifExists bool, kinds ...store.PolicyKind) (string, string, error) {
	p, err := tx.GetPolicy(ctx, name)
	if ifExists && apierr.Is(err, apierr.NotFound) {
		return "policy " + name + " does not exist", "policy " + name, nil
	}
	if err != nil {
		return "", "", err
	}
	ok := false
	for _, k := range kinds {
		ok = ok || p.Kind == k
	}
	if !ok {
		return "", "", apierr.New(apierr.InvalidArgument, "policy %s is a %s policy; use the matching DROP statement", name, p.Kind)
	}
	return "dropped policy " + name, "policy " + name, tx.DeletePolicy(ctx, name, p.Version)
}

// checkTags refuses tags that could not be typed back in SQL or matched
// predictably.
func checkTags(tags []string) error {
	for _, t := range tags {
		if t == "" || len(t) > 200 || strings.ContainsAny(t, " \t\n'\"") {
			return apierr.New(apierr.InvalidArgument, "tag %q: want a non-empty name without spaces or quotes, such as pii.email", t)
		}
	}
	return nil
}
