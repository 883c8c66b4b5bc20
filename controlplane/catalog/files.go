package catalog

import (
	"context"

	"github.com/nscale/nscale/controlplane/store"
)

// Files returns a table's data files from the store's cache, listing the
// table's location again first when the cache is older than the file list
// TTL (or was never filled). REFRESH TABLE refreshes it on demand.
func (s *Service) Files(ctx context.Context, db, table string, page store.Page) ([]store.File, string, error) {
	t, err := s.store.GetTable(ctx, db, table)
	if err != nil {
		return nil, "", err
	}
	stale := t.FilesListedAt == nil || (s.fileTTL > 0 && s.now().Sub(*t.FilesListedAt) >= s.fileTTL)
	if stale && page.PageToken == "" && s.objects != nil {
		files, err := s.objects.List(ctx, t.Location, t.Format, t.PartitionColumns())
		if err != nil {
			return nil, "", err
		}
		ref := store.TableRef{ID: t.ID, Database: t.Database, Name: t.Name}
		if err := s.store.InTx(ctx, func(tx *store.Tx) error { return tx.ReplaceFiles(ctx, ref, files, s.now()) }); err != nil {
			return nil, "", err
		}
	}
	return s.store.ListFiles(ctx, store.TableRef{ID: t.ID, Database: t.Database, Name: t.Name}, page)
}
