package flight

import (
	"github.com/nscale/nscale/internal/sqlsubset"
)

// filterPattern compiles a Flight SQL metadata filter pattern (the JDBC
// search pattern of getSchemas and getTables) with the subset's one LIKE
// (sqlsubset.CompileLike: % any run, _ one character, backslash escape,
// case-sensitive; backslash is the escape GetSqlInfo announces, as JDBC's
// getSearchStringEscape expects) and returns its match function. A nil
// pattern matches everything. A pattern ending in a lone backslash is
// refused (INVALID_ARGUMENT) as it is in SQL: a client that escapes names
// with the announced escape never sends one.
func filterPattern(pattern *string) (func(string) bool, error) {
	if pattern == nil {
		return func(string) bool { return true }, nil
	}
	m, err := sqlsubset.CompileLike(*pattern, false)
	if err != nil {
		return nil, err
	}
	return m.Match, nil
}
