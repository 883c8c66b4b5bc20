// Package schema infers the columns of a table's data files, in the shared
// type vocabulary of internal/sqlsubset (canonical type strings such as
// "int64", "decimal128(10,2)", "timestamp(us,UTC)",
// "struct<a:int32,b:string>", "list<int64>").
//
//   - Parquet: ReadFooter reads only the footer, with one or two ranged
//     reads through an io.ReaderAt (OpenLocal for local files,
//     NewS3ReaderAt for ranged S3 GETs), so a 1 GB file costs a few KB. It
//     returns the Arrow schema (pqarrow.FromParquet), the columns, and each
//     row group's byte range and per-column statistics for pruning. A
//     corrupt or truncated file is an InvalidArgument naming it, never a
//     panic.
//   - CSV and newline-delimited JSON: InferCSV and InferJSON sample the
//     first records (1,000 by default) and apply the widening rules
//     documented on each.
//   - Merge checks that all files of a table agree, naming both files of
//     the first disagreement.
//
// FromArrow, TypeOf, ArrowType and ToArrow convert between Arrow types and
// the shared vocabulary.
package schema
