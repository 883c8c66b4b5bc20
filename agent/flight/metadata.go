package flight

import (
	"context"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"

	"github.com/nscale/nscale/internal/agentapi"
)

// Metadata commands answer from the control plane's Catalog rpc, which lists
// only what the caller may see. nscale has one catalog; its databases are
// Flight SQL's db schemas.

const (
	catalogName = "nscale"
	tableType   = "TABLE"
)

// commandInfo is the FlightInfo of a metadata command: one endpoint whose
// ticket is the command itself, as the Flight SQL spec suggests.
func (s *Server) commandInfo(desc *flight.FlightDescriptor, schema *arrow.Schema) *flight.FlightInfo {
	return &flight.FlightInfo{
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: desc.Cmd}}},
		FlightDescriptor: desc,
		Schema:           flight.SerializeSchema(schema, s.mem),
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
}

// oneBatch streams rec (released by the consumer) as the only chunk.
func oneBatch(rec arrow.RecordBatch) <-chan flight.StreamChunk {
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: rec}
	close(ch)
	return ch
}

// stringsBatch builds a batch of schema whose columns are all strings,
// from rows of values (nil appends NULL).
func (s *Server) stringsBatch(schema *arrow.Schema, rows [][]*string) arrow.RecordBatch {
	b := array.NewRecordBuilder(s.mem, schema)
	defer b.Release()
	for _, row := range rows {
		for i, v := range row {
			fb := b.Field(i).(*array.StringBuilder)
			if v == nil {
				fb.AppendNull()
			} else {
				fb.Append(*v)
			}
		}
	}
	return b.NewRecordBatch()
}

func (s *Server) catalog(ctx context.Context) (*agentapi.CatalogResponse, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	resp, err := s.cp.Catalog(ctx, &agentapi.CatalogRequest{UserToken: c.token})
	if err != nil {
		return nil, relay(err)
	}
	return resp, nil
}

// catalogMatches applies a catalog filter: nil matches all, "" matches
// objects without a catalog (none here).
func catalogMatches(filter *string) bool { return filter == nil || *filter == catalogName }

// GetFlightInfoCatalogs lists the catalogs.
func (s *Server) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.commandInfo(desc, schema_ref.Catalogs), nil
}

// DoGetCatalogs answers the one catalog.
func (s *Server) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	name := catalogName
	return schema_ref.Catalogs, oneBatch(s.stringsBatch(schema_ref.Catalogs, [][]*string{{&name}})), nil
}

// GetFlightInfoSchemas lists databases.
func (s *Server) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.commandInfo(desc, schema_ref.DBSchemas), nil
}

// DoGetDBSchemas answers the databases the caller may see.
func (s *Server) DoGetDBSchemas(ctx context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	resp, err := s.catalog(ctx)
	if err != nil {
		return nil, nil, err
	}
	var rows [][]*string
	if catalogMatches(cmd.GetCatalog()) {
		dbs := append([]string(nil), resp.GetDatabases()...)
		sort.Strings(dbs)
		match, err := filterPattern(cmd.GetDBSchemaFilterPattern())
		if err != nil {
			return nil, nil, err
		}
		for _, db := range dbs {
			if match(db) {
				cat, db := catalogName, db
				rows = append(rows, []*string{&cat, &db})
			}
		}
	}
	return schema_ref.DBSchemas, oneBatch(s.stringsBatch(schema_ref.DBSchemas, rows)), nil
}

// GetFlightInfoTables lists tables.
func (s *Server) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if cmd.GetIncludeSchema() {
		return s.commandInfo(desc, schema_ref.TablesWithIncludedSchema), nil
	}
	return s.commandInfo(desc, schema_ref.Tables), nil
}

// DoGetTables answers the tables the caller may see, with their visible
// columns' schema when asked.
func (s *Server) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	resp, err := s.catalog(ctx)
	if err != nil {
		return nil, nil, err
	}
	var tables []*agentapi.CatalogTable
	if catalogMatches(cmd.GetCatalog()) && typeMatches(cmd.GetTableTypes()) {
		dbMatch, err := filterPattern(cmd.GetDBSchemaFilterPattern())
		if err != nil {
			return nil, nil, err
		}
		tableMatch, err := filterPattern(cmd.GetTableNameFilterPattern())
		if err != nil {
			return nil, nil, err
		}
		for _, t := range resp.GetTables() {
			if dbMatch(t.GetDatabase()) && tableMatch(t.GetName()) {
				tables = append(tables, t)
			}
		}
	}
	sort.Slice(tables, func(i, j int) bool {
		if tables[i].GetDatabase() != tables[j].GetDatabase() {
			return tables[i].GetDatabase() < tables[j].GetDatabase()
		}
		return tables[i].GetName() < tables[j].GetName()
	})
	schema := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		schema = schema_ref.TablesWithIncludedSchema
	}
	b := array.NewRecordBuilder(s.mem, schema)
	defer b.Release()
	for _, t := range tables {
		b.Field(0).(*array.StringBuilder).Append(catalogName)
		b.Field(1).(*array.StringBuilder).Append(t.GetDatabase())
		b.Field(2).(*array.StringBuilder).Append(t.GetName())
		b.Field(3).(*array.StringBuilder).Append(tableType)
		if cmd.GetIncludeSchema() {
			ts, err := columnsSchema(t.GetColumns())
			if err != nil {
				return nil, nil, err
			}
			b.Field(4).(*array.BinaryBuilder).Append(flight.SerializeSchema(ts, s.mem))
		}
	}
	return schema, oneBatch(b.NewRecordBatch()), nil
}

func typeMatches(types []string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if strings.EqualFold(t, tableType) {
			return true
		}
	}
	return false
}

// GetFlightInfoTableTypes lists table types.
func (s *Server) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.commandInfo(desc, schema_ref.TableTypes), nil
}

// DoGetTableTypes answers TABLE, the only type.
func (s *Server) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	typ := tableType
	return schema_ref.TableTypes, oneBatch(s.stringsBatch(schema_ref.TableTypes, [][]*string{{&typ}})), nil
}

// Data-lake tables have no keys. JDBC tools ask anyway, so the key
// commands answer empty results instead of an error.

func (s *Server) emptyResult(schema *arrow.Schema) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, schema)
	defer b.Release()
	return schema, oneBatch(b.NewRecordBatch()), nil
}

// GetFlightInfoPrimaryKeys lists no keys.
func (s *Server) GetFlightInfoPrimaryKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.commandInfo(desc, schema_ref.PrimaryKeys), nil
}

// DoGetPrimaryKeys answers no keys.
func (s *Server) DoGetPrimaryKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.emptyResult(schema_ref.PrimaryKeys)
}

// GetFlightInfoImportedKeys lists no keys.
func (s *Server) GetFlightInfoImportedKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.commandInfo(desc, schema_ref.ImportedKeys), nil
}

// DoGetImportedKeys answers no keys.
func (s *Server) DoGetImportedKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.emptyResult(schema_ref.ImportedKeys)
}

// GetFlightInfoExportedKeys lists no keys.
func (s *Server) GetFlightInfoExportedKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.commandInfo(desc, schema_ref.ExportedKeys), nil
}

// DoGetExportedKeys answers no keys.
func (s *Server) DoGetExportedKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.emptyResult(schema_ref.ExportedKeys)
}

// GetFlightInfoCrossReference lists no keys.
func (s *Server) GetFlightInfoCrossReference(_ context.Context, _ flightsql.CrossTableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.commandInfo(desc, schema_ref.CrossReference), nil
}

// DoGetCrossReference answers no keys.
func (s *Server) DoGetCrossReference(context.Context, flightsql.CrossTableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.emptyResult(schema_ref.CrossReference)
}
