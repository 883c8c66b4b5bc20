package store

import (
	"context"
	"database/sql"
)

// Snapshot is everything the policy evaluator needs, read at one policy
// version. It is plain data that the caller owns.
type Snapshot struct {
	// PolicyVersion is the policy version every other field is consistent
	// with.
	PolicyVersion int64
	// Principals are ordered by kind, then name.
	Principals []Principal
	// Memberships are the direct memberships, ordered by member then parent.
	Memberships []Membership
	// Attributes are the users' attributes: user name -> key -> value.
	Attributes map[string]map[string]string
	// Databases are ordered by name.
	Databases []Database
	// Tables, with their columns (no files), are ordered by database and
	// name.
	Tables []Table
	// Grants, with their row filters, are ordered by id.
	Grants []Grant
	// Masks are ordered by table, column and id.
	Masks []Mask
	// ColumnTags are ordered by database, table, column and tag.
	ColumnTags []ColumnTag
	// Unmasks are ordered by id.
	Unmasks []Unmask
	// Policies are ordered by name.
	Policies []Policy
}

// Membership is a direct membership of a principal in a group or role.
type Membership struct {
	Member PrincipalRef
	Parent PrincipalRef
}

// PolicySnapshot reads a Snapshot in one read-only transaction that sees a
// single committed state: REPEATABLE READ on PostgreSQL (a snapshot) and
// MySQL (InnoDB's consistent read), a deferred read transaction on SQLite
// (WAL readers see the database as of their first read). It takes a dozen
// queries whatever the number of rows, and works on a read-only store.
func (s *Store) PolicySnapshot(ctx context.Context) (Snapshot, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect != SQLite {
		opts.Isolation = sql.LevelRepeatableRead
	}
	sqlTx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return Snapshot{}, s.dbErr(err, "begin the policy snapshot")
	}
	defer func() { _ = sqlTx.Rollback() }()
	q := querier{d: s.dialect, r: sqlTx}
	snap, err := q.snapshot(ctx)
	if err != nil {
		return Snapshot{}, s.dbErr(err, "read the policy snapshot")
	}
	return snap, nil
}

func (q querier) snapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	var err error
	if snap.PolicyVersion, err = q.policyVersion(ctx); err != nil {
		return snap, err
	}
	if snap.Principals, err = queryAll(ctx, q, scanPrincipal,
		"SELECT "+principalColumns+" FROM principals ORDER BY kind, name"); err != nil {
		return snap, err
	}
	if snap.Memberships, err = queryAll(ctx, q, func(sc scanner) (Membership, error) {
		var m Membership
		var mk, pk string
		err := sc.Scan(&mk, &m.Member.Name, &pk, &m.Parent.Name)
		m.Member.Kind, m.Parent.Kind = PrincipalKind(mk), PrincipalKind(pk)
		return m, err
	}, `SELECT c.kind, c.name, p.kind, p.name FROM memberships m
		JOIN principals c ON c.id = m.member_id
		JOIN principals p ON p.id = m.parent_id
		ORDER BY c.kind, c.name, p.kind, p.name`); err != nil {
		return snap, err
	}
	type attr struct{ user, key, value string }
	attrs, err := queryAll(ctx, q, func(sc scanner) (attr, error) {
		var a attr
		return a, sc.Scan(&a.user, &a.key, &a.value)
	}, `SELECT p.name, a.attr_key, a.attr_value FROM principal_attributes a
		JOIN principals p ON p.id = a.principal_id WHERE p.kind = 'user'`)
	if err != nil {
		return snap, err
	}
	for _, a := range attrs {
		if snap.Attributes == nil {
			snap.Attributes = map[string]map[string]string{}
		}
		if snap.Attributes[a.user] == nil {
			snap.Attributes[a.user] = map[string]string{}
		}
		snap.Attributes[a.user][a.key] = a.value
	}
	if snap.Databases, err = queryAll(ctx, q, scanDatabase,
		"SELECT "+databaseColumns+" FROM catalog_databases ORDER BY name"); err != nil {
		return snap, err
	}
	if snap.Tables, err = queryAll(ctx, q, scanTable, "SELECT "+tableColumns+tableFrom+" ORDER BY d.name, t.name"); err != nil {
		return snap, err
	}
	if err := q.loadColumns(ctx, snap.Tables, true); err != nil {
		return snap, err
	}
	if snap.Grants, err = queryAll(ctx, q, scanGrant, grantSelect+" ORDER BY g.id"); err != nil {
		return snap, err
	}
	if snap.Masks, err = queryAll(ctx, q, scanMask, maskSelect+" ORDER BY m.table_id, m.column_name, m.id"); err != nil {
		return snap, err
	}
	if snap.ColumnTags, err = queryAll(ctx, q, scanColumnTag, columnTagSelect+" ORDER BY d.name, t.name, ct.column_name, g.name"); err != nil {
		return snap, err
	}
	if snap.Unmasks, err = queryAll(ctx, q, scanUnmask, unmaskSelect+" ORDER BY u.id"); err != nil {
		return snap, err
	}
	if snap.Policies, err = queryAll(ctx, q, scanPolicy, "SELECT "+policyColumns+" FROM policies ORDER BY name"); err != nil {
		return snap, err
	}
	return snap, nil
}
