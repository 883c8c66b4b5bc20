package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// maxFilePathLen is the longest file path in bytes: it must fit an index
// entry on every dialect (MySQL stores it as VARBINARY(2048)). S3 keys are
// at most 1,024 bytes.
const maxFilePathLen = 2048

// File is one data file of a table, as last listed from storage.
type File struct {
	// Path is the object's full address, e.g. s3://bucket/sales/orders/dt=2024-01-01/part-0.parquet.
	Path     string
	Size     int64
	ETag     string
	Modified time.Time
	// Partition holds the values of the table's partition columns for this
	// file (from its path), by column name.
	Partition map[string]string
}

const fileColumns = "path, size_bytes, etag, modified_at, partition_values"

func scanFile(sc scanner) (File, error) {
	var f File
	var modified int64
	var part string
	if err := sc.Scan(&f.Path, &f.Size, &f.ETag, &modified, &part); err != nil {
		return File{}, err
	}
	f.Modified = fromMicros(modified)
	var err error
	f.Partition, err = decodeMap("file partition values", part)
	return f, err
}

func (f File) check() error {
	switch {
	case f.Path == "":
		return apierr.New(apierr.InvalidArgument, "file path is empty")
	case len(f.Path) > maxFilePathLen:
		return apierr.New(apierr.InvalidArgument, "file path %.64q... is longer than %d bytes", f.Path, maxFilePathLen)
	case f.Size < 0:
		return apierr.New(apierr.InvalidArgument, "file %q has a negative size", f.Path)
	case len(f.ETag) > maxNameLen:
		return apierr.New(apierr.InvalidArgument, "etag of file %q is longer than %d bytes", f.Path, maxNameLen)
	}
	if err := checkText("file path", f.Path); err != nil {
		return err
	}
	return checkText("file etag", f.ETag)
}

// ReplaceFiles replaces the table's whole file list with files, listed from
// storage at listedAt (now when zero), which becomes the table's
// FilesListedAt. It is not a policy change and does not change the table's
// version. Paths must be unique.
//
// Only the difference is written: files whose size, etag, modification
// time and partition values are unchanged keep their rows, the rest are
// deleted and inserted in path order with multi-row INSERTs of 500 rows.
// When most of the old list goes, it is deleted in one statement instead.
func (tx *Tx) ReplaceFiles(ctx context.Context, table TableRef, files []File, listedAt time.Time) error {
	if err := table.check(); err != nil {
		return err
	}
	sorted := make([]storedFile, len(files))
	for i := range files {
		f := &files[i]
		if err := f.check(); err != nil {
			return err
		}
		part, err := encodeMap("file partition values", f.Partition)
		if err != nil {
			return err
		}
		sorted[i] = storedFile{path: f.Path, size: f.Size, etag: f.ETag, modified: micros(f.Modified), partition: part}
	}
	slices.SortFunc(sorted, func(a, b storedFile) int { return cmp.Compare(a.path, b.path) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1].path == sorted[i].path {
			return apierr.New(apierr.InvalidArgument, "file %q is listed twice", sorted[i].path)
		}
	}
	if listedAt.IsZero() {
		listedAt = now()
	}
	q := tx.q()
	// Lock the table row first: a concurrent DeleteTable or ReplaceFiles
	// waits for this one to commit.
	id, err := tx.lockTable(ctx, table)
	if err != nil {
		return err
	}
	res, err := q.exec(ctx, "UPDATE catalog_tables SET files_listed_at = ? WHERE id = ?", micros(listedAt), id)
	if err != nil {
		return tx.s.dbErr(err, "record the file listing time")
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return notFound("table", table.label())
	}
	readOld := "SELECT " + fileColumns + " FROM table_files WHERE table_id = ?"
	if tx.s.dialect == MySQL {
		// A locking read sees the latest rows even if this transaction
		// read something before (InnoDB's snapshot would be older).
		readOld += " LOCK IN SHARE MODE"
	}
	old, err := queryAll(ctx, q, func(sc scanner) (storedFile, error) {
		var f storedFile
		return f, sc.Scan(&f.path, &f.size, &f.etag, &f.modified, &f.partition)
	}, readOld, id)
	if err != nil {
		return tx.s.dbErr(err, "read the files of table "+table.label())
	}
	// stale starts as every stored row and ends as the rows to delete:
	// gone from the listing, or changed.
	stale := make(map[string]storedFile, len(old))
	for _, f := range old {
		stale[f.path] = f
	}
	var insert []storedFile
	for _, f := range sorted {
		if o, ok := stale[f.path]; ok && o == f {
			delete(stale, f.path)
			continue
		}
		insert = append(insert, f)
	}
	del := make([]string, 0, len(stale))
	for path := range stale {
		del = append(del, path)
	}
	if len(del) > len(old)/2 {
		// Most of it goes: delete everything and insert the whole list.
		if _, err := q.exec(ctx, "DELETE FROM table_files WHERE table_id = ?", id); err != nil {
			return tx.s.dbErr(err, "delete the files of table "+table.label())
		}
		insert = sorted
	} else {
		slices.Sort(del)
		for start := 0; start < len(del); start += insertBatchRows {
			batch := del[start:min(start+insertBatchRows, len(del))]
			if _, err := q.exec(ctx, "DELETE FROM table_files WHERE table_id = ? AND path IN ("+placeholders(len(batch))+")",
				append([]any{id}, anys(batch)...)...); err != nil {
				return tx.s.dbErr(err, "delete files of table "+table.label())
			}
		}
	}
	t := micros(now())
	values := make([]any, 0, len(insert)*11)
	for _, f := range insert {
		sum := sha256.Sum256([]byte(f.path))
		values = append(values, newID(), id, f.path, hex.EncodeToString(sum[:]), f.size, f.etag, f.modified, f.partition, 1, t, t)
	}
	if err := q.insertRows(ctx, "table_files", []string{"id", "table_id", "path", "path_sha256", "size_bytes",
		"etag", "modified_at", "partition_values", "version", "created_at", "updated_at"}, values); err != nil {
		return tx.s.writeErr(err, "file of table", table.label())
	}
	return nil
}

// storedFile is a File as stored, for comparing listings.
type storedFile struct {
	path      string
	size      int64
	etag      string
	modified  int64
	partition string
}

// ListFiles returns one page of the table's files in path order (byte-wise)
// and the token of the next page. A missing table is NotFound.
func (s *Store) ListFiles(ctx context.Context, table TableRef, p Page) ([]File, string, error) {
	const list = "files"
	cur, err := p.open(list, 1)
	if err != nil {
		return nil, "", err
	}
	after := cur.after
	q := s.q()
	id, err := q.tableID(ctx, s, table)
	if err != nil {
		return nil, "", err
	}
	conds, args := []string{"table_id = ?"}, []any{id}
	if after != nil {
		conds, args = append(conds, "path > ?"), append(args, after[0])
	}
	out, err := queryAll(ctx, q, scanFile, "SELECT "+fileColumns+" FROM table_files"+where(conds)+" ORDER BY path LIMIT ?",
		append(args, cur.fetch())...)
	if err != nil {
		return nil, "", s.dbErr(err, "list files")
	}
	out, next := endPage(cur, out, func(last File) []string { return []string{last.Path} })
	return out, next, nil
}

// CountFiles counts the table's files. A missing table is NotFound.
func (s *Store) CountFiles(ctx context.Context, table TableRef) (int64, error) {
	q := s.q()
	id, err := q.tableID(ctx, s, table)
	if err != nil {
		return 0, err
	}
	var n int64
	err = q.queryRow(ctx, "SELECT COUNT(*) FROM table_files WHERE table_id = ?", id).Scan(&n)
	return n, s.dbErr(err, "count files")
}
