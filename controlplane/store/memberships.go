package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/nscale/nscale/internal/apierr"
)

// canJoin says which kinds may be members of which: a group holds users and
// groups; a role holds users, groups and roles.
func canJoin(member, parent PrincipalKind) bool {
	switch parent {
	case Group:
		return member == User || member == Group
	case Role:
		return member == User || member == Group || member == Role
	}
	return false
}

// AddMembership makes member a direct member of parent, a group or role (a
// policy change). Both must exist (NotFound); a membership that already
// exists is AlreadyExists; one that would make a cycle is InvalidArgument.
func (tx *Tx) AddMembership(ctx context.Context, member, parent PrincipalRef) error {
	if err := member.check(); err != nil {
		return err
	}
	if err := parent.check(); err != nil {
		return err
	}
	if !canJoin(member.Kind, parent.Kind) {
		return apierr.New(apierr.InvalidArgument, "a %s cannot be a member of a %s", member.Kind, parent.Kind)
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	memberID, err := tx.principalID(ctx, member)
	if err != nil {
		return err
	}
	parentID, err := tx.principalID(ctx, parent)
	if err != nil {
		return err
	}
	if memberID == parentID {
		return apierr.New(apierr.InvalidArgument, "%s %q cannot be a member of itself", member.Kind, member.Name)
	}
	// The bump above serialises policy writers, so this check cannot race
	// with another membership being added.
	cycle, err := tx.isAncestor(ctx, memberID, parentID)
	if err != nil {
		return err
	}
	if cycle {
		return apierr.New(apierr.InvalidArgument, "%s %q already contains %s %q: the membership would make a cycle",
			member.Kind, member.Name, parent.Kind, parent.Name)
	}
	what := fmt.Sprintf("%s %s in %s %s", member.Kind, member.Name, parent.Kind, parent.Name)
	if _, err := tx.q().exec(ctx, "INSERT INTO memberships (member_id, parent_id, created_at) VALUES (?, ?, ?)",
		memberID, parentID, micros(now())); err != nil {
		return tx.s.writeErr(err, "membership", what)
	}
	return nil
}

// isAncestor reports whether ancestorID is reachable from id by following
// memberships upward (id is a direct or indirect member of ancestorID).
func (tx *Tx) isAncestor(ctx context.Context, ancestorID, id string) (bool, error) {
	seen := map[string]bool{id: true}
	frontier := []string{id}
	for len(frontier) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(frontier)), ", ")
		args := make([]any, len(frontier))
		for i, f := range frontier {
			args[i] = f
		}
		rows, err := tx.q().query(ctx, "SELECT parent_id FROM memberships WHERE member_id IN ("+marks+")", args...)
		if err != nil {
			return false, tx.s.dbErr(err, "walk memberships")
		}
		var next []string
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return false, tx.s.dbErr(err, "walk memberships")
			}
			if p == ancestorID {
				rows.Close()
				return true, nil
			}
			if !seen[p] {
				seen[p] = true
				next = append(next, p)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return false, tx.s.dbErr(err, "walk memberships")
		}
		frontier = next
	}
	return false, nil
}

// RemoveMembership ends member's direct membership of parent (a policy
// change), or returns NotFound.
func (tx *Tx) RemoveMembership(ctx context.Context, member, parent PrincipalRef) error {
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	memberID, err := tx.principalID(ctx, member)
	if err != nil {
		return err
	}
	parentID, err := tx.principalID(ctx, parent)
	if err != nil {
		return err
	}
	res, err := tx.q().exec(ctx, "DELETE FROM memberships WHERE member_id = ? AND parent_id = ?", memberID, parentID)
	if err != nil {
		return tx.s.dbErr(err, "delete membership")
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return apierr.New(apierr.NotFound, "%s %q is not a member of %s %q", member.Kind, member.Name, parent.Kind, parent.Name)
	}
	return nil
}

// Memberships returns the groups and roles member belongs to directly,
// ordered by kind then name.
func (s *Store) Memberships(ctx context.Context, member PrincipalRef) ([]Principal, error) {
	return s.q().memberships(ctx, s, member)
}

// Memberships is Store.Memberships inside the transaction.
func (tx *Tx) Memberships(ctx context.Context, member PrincipalRef) ([]Principal, error) {
	return tx.q().memberships(ctx, tx.s, member)
}

func (q querier) memberships(ctx context.Context, s *Store, member PrincipalRef) ([]Principal, error) {
	if _, err := q.getPrincipal(ctx, s, member); err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, `SELECT p.id, p.kind, p.name, p.comment, p.version, p.created_at, p.updated_at
		FROM memberships m
		JOIN principals p ON p.id = m.parent_id
		JOIN principals c ON c.id = m.member_id
		WHERE c.kind = ? AND c.name = ?
		ORDER BY p.kind, p.name`, string(member.Kind), member.Name)
	if err != nil {
		return nil, s.dbErr(err, "list memberships")
	}
	out, err := scanPrincipals(rows)
	return out, s.dbErr(err, "list memberships")
}
