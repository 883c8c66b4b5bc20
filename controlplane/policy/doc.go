// Package policy evaluates the effective policy of one user on one table:
// which columns come back (and which are absent), which rows, which cells
// are NULLed and which values are masked, and why. docs/policy.md is the
// operator's description of the rules; this is the summary.
//
// Evaluation is pure and deterministic: its only input is a Snapshot value
// (the store's policy at one version), it does no I/O, and it orders every
// list by id or name so that shuffling the snapshot changes nothing,
// Effective.Hash included.
//
//  1. Principals: the user, every group containing the user (transitively)
//     and every role granted to the user or to one of those groups, or to
//     one of those roles (transitively). Cycles are harmless.
//  2. catalog_admin: a user holding the role sees every column of every
//     table, unmasked and unfiltered; safeguards do not apply.
//  3. Applicable grants: SELECT grants to a principal of the user whose
//     scope (catalog, database, table) covers the table. None:
//     PermissionDenied. Unknown table: NotFound.
//  4. Columns: the union of the applicable grants' columns, in table order;
//     any other column is absent.
//  5. Rows: OR of the applicable grants' filters (TRUE if one has none),
//     AND every safeguard filter of the table.
//  6. Cells: a column that only some of the filtered grants cover is NULL
//     in the rows its own grants' filters do not admit (CellFilter).
//  7. Policy functions in filters are resolved for the user, constants
//     folded; the result contains no function call.
//  8. Masks: safeguard > column mask > tag policy > none; UNMASK on a column
//     lifts column masks and tag policies of that column, UNMASK on a tag
//     lifts tag policies only, nothing lifts a safeguard; the most
//     restrictive mask of a level wins (MaskRank). A mask that does not
//     apply to its column's type fails the evaluation (FailedPrecondition).
//
// The agent applies an Effective as its doc comment says: filters on the
// stored values, then masks, then the query's own predicates.
package policy
