package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
)

// maxAuditDetail bounds an audit event's statement and detail (MEDIUMTEXT
// on MySQL holds 16 MiB).
const maxAuditDetail = 1 << 20

// maxAuditStatementKept is how much of a statement that is too long (or
// not storable text) is kept, escaped; its length and hash go to the detail.
const maxAuditStatementKept = 64 << 10

// AuditEvent is one entry of the append-only audit log.
type AuditEvent struct {
	ID string
	// Time is when it happened (now when zero).
	Time time.Time
	// Actor is who acted (a principal name, an agent id, "system").
	Actor string
	// Action is what was done, e.g. database.create, query.plan.
	Action string
	// Target names what it was done to, e.g. database sales.
	Target string
	// Outcome is e.g. ok, denied, error.
	Outcome string
	// Statement is the SQL or request the actor sent, if any.
	Statement string
	// Detail is a JSON document (empty for none).
	Detail json.RawMessage
	// PolicyVersionBefore and PolicyVersionAfter are the policy versions
	// around the action; equal when it changed no policy.
	PolicyVersionBefore int64
	PolicyVersionAfter  int64
	RequestID           string
}

const auditColumns = "id, occurred_at, actor, action, target, outcome, statement, detail, policy_version_before, policy_version_after, request_id"

func (e AuditEvent) check() error {
	if err := checkName("audit action", e.Action); err != nil {
		return err
	}
	for field, v := range map[string]string{"audit actor": e.Actor, "audit outcome": e.Outcome, "audit request id": e.RequestID} {
		if err := checkText(field, v); err != nil {
			return err
		}
	}
	if len(e.Actor) > maxNameLen || len(e.Action) > 64 || len(e.Outcome) > 16 || len(e.RequestID) > 64 {
		return apierr.New(apierr.InvalidArgument, "audit actor, action, outcome or request id is too long")
	}
	if err := checkText("audit target", e.Target); err != nil {
		return err
	}
	if err := checkTextN("audit statement", e.Statement, maxAuditDetail); err != nil {
		return err
	}
	if err := checkTextN("audit detail", string(e.Detail), maxAuditDetail); err != nil {
		return err
	}
	if len(e.Detail) > 0 && !json.Valid(e.Detail) {
		return apierr.New(apierr.InvalidArgument, "audit detail is not valid JSON")
	}
	return nil
}

// storableStatement escapes and truncates a statement that checkTextN
// would refuse, and records the original's length and hash in the detail.
func (e AuditEvent) storableStatement() (AuditEvent, error) {
	if checkTextN("", e.Statement, maxAuditDetail) == nil {
		return e, nil
	}
	sum := sha256.Sum256([]byte(e.Statement))
	detail := map[string]any{}
	if len(e.Detail) > 0 {
		if err := json.Unmarshal(e.Detail, &detail); err != nil {
			detail = map[string]any{"detail": e.Detail}
		}
	}
	detail["statement_bytes"] = len(e.Statement)
	detail["statement_sha256"] = hex.EncodeToString(sum[:])
	// Escaped: NUL and invalid bytes as \xNN, a backslash doubled, so the
	// stored text reads back unambiguously.
	var b strings.Builder
	for i := 0; i < len(e.Statement); {
		if b.Len() >= maxAuditStatementKept {
			detail["statement_truncated"] = true
			fmt.Fprintf(&b, "…[truncated at byte %d]", i)
			break
		}
		r, size := utf8.DecodeRuneInString(e.Statement[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == 0:
			fmt.Fprintf(&b, "\\x%02x", e.Statement[i])
		case r == '\\':
			b.WriteString("\\\\")
		default:
			b.WriteRune(r)
		}
		i += size
	}
	detail["statement_escaped"] = true
	e.Statement = b.String()
	raw, err := json.Marshal(detail)
	if err != nil {
		return e, apierr.Wrap(apierr.Internal, err, "audit detail")
	}
	e.Detail = raw
	return e, nil
}

func scanAuditEvent(sc scanner) (AuditEvent, error) {
	var e AuditEvent
	var at int64
	var detail string
	if err := sc.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.Statement, &detail,
		&e.PolicyVersionBefore, &e.PolicyVersionAfter, &e.RequestID); err != nil {
		return AuditEvent{}, err
	}
	e.Time = fromMicros(at)
	if detail != "" {
		e.Detail = json.RawMessage(detail)
	}
	return e, nil
}

// AppendAudit adds an event to the audit log and returns it with its ID
// (and Time, if it was zero) set. A statement that cannot be stored as sent
// (a NUL byte, invalid UTF-8, longer than 1 MiB) is stored escaped and
// truncated, with its length and SHA-256 in the detail: whatever text an
// actor sends, its event is written.
func (tx *Tx) AppendAudit(ctx context.Context, e AuditEvent) (AuditEvent, error) {
	var err error
	if e, err = e.storableStatement(); err != nil {
		return AuditEvent{}, err
	}
	if err := e.check(); err != nil {
		return AuditEvent{}, err
	}
	e.ID = newID()
	if e.Time.IsZero() {
		e.Time = now()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	if _, err := tx.q().exec(ctx, "INSERT INTO audit_events ("+auditColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.ID, micros(e.Time), e.Actor, e.Action, e.Target, e.Outcome, e.Statement, string(e.Detail),
		e.PolicyVersionBefore, e.PolicyVersionAfter, e.RequestID); err != nil {
		return AuditEvent{}, tx.s.writeErr(err, "audit event", e.ID)
	}
	return e, nil
}

// ListAudit returns one page of audit events, newest first, and the token of
// the next (older) page.
func (s *Store) ListAudit(ctx context.Context, p Page) ([]AuditEvent, string, error) {
	const list = "audit"
	cur, err := p.open(list, 2)
	if err != nil {
		return nil, "", err
	}
	after := cur.after
	query, args := "SELECT "+auditColumns+" FROM audit_events", []any{}
	if after != nil {
		at, err := strconv.ParseInt(after[0], 10, 64)
		if err != nil {
			return nil, "", cur.invalid()
		}
		query += " WHERE occurred_at < ? OR (occurred_at = ? AND id < ?)"
		args = append(args, at, at, after[1])
	}
	rows, err := s.q().query(ctx, query+" ORDER BY occurred_at DESC, id DESC LIMIT ?", append(args, cur.fetch())...)
	if err != nil {
		return nil, "", s.dbErr(err, "list audit events")
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		e, err := scanAuditEvent(rows)
		if err != nil {
			return nil, "", s.dbErr(err, "list audit events")
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.dbErr(err, "list audit events")
	}
	out, next := endPage(cur, out, func(last AuditEvent) []string { return []string{strconv.FormatInt(micros(last.Time), 10), last.ID} })
	return out, next, nil
}
