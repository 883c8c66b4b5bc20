// Package sqlsubset is the expression language that the control plane and
// the agents share: row filters, safeguard filters and the WHERE clauses of
// queries, as trees.
//
// The control plane parses SQL into these trees (controlplane/statement,
// with PostgreSQL's parser), type-checks them against a table's schema
// (TypeCheck, Coerce), replaces the policy functions current_user(),
// has_role('r') and user_attribute('k') by literals (Substitute, Simplify)
// and puts the canonical JSON encoding (Marshal) into signed task plans. An
// agent decodes the tree (Unmarshal, strict and bounded) and evaluates it; it
// never parses SQL. This package therefore imports no SQL parser and no
// project package but internal/apierr.
//
// The node types are *Column, *Literal, *Compare, *And, *Or, *Not, *In,
// *Between, *Like, *IsNull, *IsBool, *Cast and *Call. Types use Arrow's
// vocabulary (Type, ParseType): bool, int8..int64, uint8..uint64, float32,
// float64, decimal128(p,s), string, binary, date32, timestamp(unit[,tz]),
// struct<...> and list<...>. Mask names the column masking functions.
//
// How values order and match is defined here once (compare.go: CompareLiterals,
// CompareText, CompareFloat; like.go: CompileLike) and followed by every
// evaluator: the control plane's folding and pruning and the agent's
// evaluation. testdata/semantics.json is their common table of cases,
// checked against DuckDB by the integration tests (package semanticstest
// loads it).
//
// Every error is an *apierr.Error with code InvalidArgument, except a
// Resolver's own errors, which Substitute returns unchanged.
package sqlsubset
