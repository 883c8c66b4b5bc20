package store

import (
	"context"

	"github.com/nscale/nscale/internal/apierr"
)

func checkUser(ref PrincipalRef) error {
	if err := ref.check(); err != nil {
		return err
	}
	if ref.Kind != User {
		return apierr.New(apierr.InvalidArgument, "attributes belong to users, not to %s %q", ref.Kind, ref.Name)
	}
	return nil
}

// SetAttribute sets the user's attribute key to value, adding or replacing
// it (a policy change: attributes feed attribute-based policy).
func (tx *Tx) SetAttribute(ctx context.Context, user PrincipalRef, key, value string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if err := checkName("attribute", key); err != nil {
		return err
	}
	if err := checkText("attribute value", value); err != nil {
		return err
	}
	// The bump serialises policy writers, so update-then-insert cannot race.
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	id, err := tx.principalID(ctx, user)
	if err != nil {
		return err
	}
	t := micros(now())
	res, err := tx.q().exec(ctx, `UPDATE principal_attributes SET attr_value = ?, version = version + 1, updated_at = ?
		WHERE principal_id = ? AND attr_key = ?`, value, t, id, key)
	if err != nil {
		return tx.s.dbErr(err, "update attribute")
	}
	if n, err := res.RowsAffected(); err != nil {
		return tx.s.dbErr(err, "update attribute")
	} else if n > 0 {
		return nil
	}
	if _, err := tx.q().exec(ctx, `INSERT INTO principal_attributes (principal_id, attr_key, attr_value, version, created_at, updated_at)
		VALUES (?, ?, ?, 1, ?, ?)`, id, key, value, t, t); err != nil {
		return tx.s.writeErr(err, "attribute", key)
	}
	return nil
}

// DeleteAttribute removes the user's attribute key (a policy change), or
// returns NotFound.
func (tx *Tx) DeleteAttribute(ctx context.Context, user PrincipalRef, key string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	id, err := tx.principalID(ctx, user)
	if err != nil {
		return err
	}
	res, err := tx.q().exec(ctx, "DELETE FROM principal_attributes WHERE principal_id = ? AND attr_key = ?", id, key)
	if err != nil {
		return tx.s.dbErr(err, "delete attribute")
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return apierr.New(apierr.NotFound, "user %q has no attribute %q", user.Name, key)
	}
	return nil
}

// Attributes returns the user's attributes (nil if none), or NotFound for a
// missing user.
func (s *Store) Attributes(ctx context.Context, user PrincipalRef) (map[string]string, error) {
	return s.q().attributes(ctx, s, user)
}

// Attributes is Store.Attributes inside the transaction.
func (tx *Tx) Attributes(ctx context.Context, user PrincipalRef) (map[string]string, error) {
	return tx.q().attributes(ctx, tx.s, user)
}

func (q querier) attributes(ctx context.Context, s *Store, user PrincipalRef) (map[string]string, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	p, err := q.getPrincipal(ctx, s, user)
	if err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, "SELECT attr_key, attr_value FROM principal_attributes WHERE principal_id = ? ORDER BY attr_key", p.ID)
	if err != nil {
		return nil, s.dbErr(err, "read attributes")
	}
	defer rows.Close()
	var out map[string]string
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, s.dbErr(err, "read attributes")
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out, s.dbErr(rows.Err(), "read attributes")
}
