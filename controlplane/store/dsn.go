package store

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// redacted replaces a password wherever a DSN is shown.
const redacted = "xxxxx"

// pgKVPassword matches password=... and sslpassword=... in a PostgreSQL
// key=value connection string, quoted or not.
var pgKVPassword = regexp.MustCompile(`(?i)\b((?:ssl)?password)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)

// RedactDSN renders dsn for logs and error messages with its password
// replaced by "xxxxx". A DSN it cannot parse is not shown at all, because the
// password's position in it would be a guess.
func RedactDSN(d Dialect, dsn string) string {
	switch d {
	case Postgres:
		return redactPostgresDSN(dsn)
	case MySQL:
		return redactMySQLDSN(dsn)
	case SQLite:
		return dsn
	default:
		return "[DSN of unknown dialect " + string(d) + "]"
	}
}

func redactPostgresDSN(dsn string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return pgKVPassword.ReplaceAllString(dsn, "${1}="+redacted)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "[unparseable postgres DSN]"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	q := u.Query()
	changed := false
	for k := range q {
		if lk := strings.ToLower(k); lk == "password" || lk == "sslpassword" {
			q[k] = []string{redacted}
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactMySQLDSN follows mysql.ParseDSN: the password is what lies between
// the first ':' and the last '@' before the last '/'.
func redactMySQLDSN(dsn string) string {
	if _, err := mysql.ParseDSN(dsn); err != nil {
		return "[unparseable mysql DSN]"
	}
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return dsn
	}
	at := strings.LastIndexByte(dsn[:slash], '@')
	if at < 0 {
		return dsn
	}
	colon := strings.IndexByte(dsn[:at], ':')
	if colon < 0 {
		return dsn
	}
	return dsn[:colon+1] + redacted + dsn[at:]
}

// scrubbedError hides secrets from an error's text while keeping the cause
// reachable for errors.Is and errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub returns err with every non-empty secret (and its URL-escaped form)
// replaced by "xxxxx" in its text.
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, s, redacted)
		msg = strings.ReplaceAll(msg, url.QueryEscape(s), redacted)
		msg = strings.ReplaceAll(msg, url.PathEscape(s), redacted)
	}
	return &scrubbedError{msg: msg, err: err}
}
