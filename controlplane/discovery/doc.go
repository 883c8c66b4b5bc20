// Package discovery lists the data files of a table: every visible object
// under the table's location (s3://bucket/prefix/ or file:///abs/dir/), with
// its size, ETag and modification time, and the Hive-style partition values
// (key=value/ directory segments) checked against the table's declared
// partition columns.
//
// Walk streams objects to a callback page by page, so a listing of 100k+
// objects costs memory only for what the caller keeps; List collects and
// sorts them. Hidden and temporary files (names starting with "_" or ".",
// *.crc, anything under _temporary/ ...) are skipped, see Hidden.
//
// Two backends sit behind the lister interface: a local directory walk that
// never follows a symbolic link out of the table root, and S3
// ListObjectsV2 through the SDK paginator on a client the control plane
// builds (controlplane/storage) with its own credentials, path-style
// addressing and custom endpoint for S3-compatible stores.
//
// Every error is an *apierr.Error naming the location or the file;
// none carries a credential.
package discovery
