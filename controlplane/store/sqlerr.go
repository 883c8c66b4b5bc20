package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/nscale/nscale/internal/apierr"
)

// errKind is what a driver error means to the store. This file is the one
// place that knows each driver's error codes.
type errKind int

const (
	errOther      errKind = iota
	errUnique             // unique or primary key violation
	errForeignKey         // foreign key violation
	errRetry              // busy, deadlock or serialization failure: retry the transaction
)

func classify(err error) errKind {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch code := se.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE, code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errUnique
		case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY,
			// ON DELETE RESTRICT is enforced by a trigger-like action.
			code&0xff == sqlite3.SQLITE_CONSTRAINT && strings.Contains(se.Error(), "FOREIGN KEY constraint failed"):
			return errForeignKey
		case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED:
			return errRetry
		}
		return errOther
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return errUnique
		case "23503": // foreign_key_violation
			return errForeignKey
		case "40001", "40P01", "55P03": // serialization_failure, deadlock_detected, lock_not_available
			return errRetry
		}
		return errOther
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1062: // ER_DUP_ENTRY
			return errUnique
		case 1451, 1452: // ER_ROW_IS_REFERENCED_2, ER_NO_REFERENCED_ROW_2
			return errForeignKey
		case 1213, 1205: // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
			return errRetry
		}
	}
	return errOther
}

// isConnErr reports whether err means the database could not be reached or
// the connection was lost (as opposed to a statement being rejected).
func isConnErr(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// writeErr maps the error of a write to one entity: a unique violation is
// AlreadyExists and a foreign key violation FailedPrecondition; anything
// else goes through dbErr.
func (s *Store) writeErr(err error, entity, name string) error {
	switch classify(err) {
	case errUnique:
		return alreadyExists(entity, name)
	case errForeignKey:
		return apierr.New(apierr.FailedPrecondition,
			"%s %q is still referenced by other objects, or refers to one that does not exist", entity, name)
	}
	return s.dbErr(err, fmt.Sprintf("write %s %q", entity, name))
}

// alreadyExists is the error for a duplicate: writeErr returns it for a
// unique violation, and checks that find a duplicate by query return it too.
func alreadyExists(entity, name string) error {
	return apierr.New(apierr.AlreadyExists, "%s %q already exists", entity, name)
}

func notFound(entity, name string) error {
	return apierr.New(apierr.NotFound, "%s %q not found", entity, name)
}

// conflict is the optimistic-concurrency failure: the caller read version
// expected, the row is now at version current.
func conflict(entity, name string, expected, current int64) error {
	return apierr.New(apierr.Conflict,
		"%s %q was changed by someone else: expected version %d, current version %d; read it again and retry",
		entity, name, expected, current)
}
