// JdbcMetadata.java: the JDBC metadata calls that BI tools and Spark make,
// through the Arrow Flight SQL JDBC driver against nscale's agent; run by
// integration/jdbc_metadata_test.go in the JDK's single-file mode:
//
//   java --add-opens=java.base/java.nio=ALL-UNNAMED -cp flight-sql-jdbc-driver.jar \
//       JdbcMetadata.java URL SQL [URL SQL]...
//
// For each URL it prints one JSON line:
//   {"catalogs": [..], "schemas": [[schema, catalog]..],
//    "tables": [[catalog, schema, table, type]..],
//    "columns": [[schema, table, column, type name, JDBC type, size, digits, nullable]..],
//    "query": [[label, type name, JDBC type, precision, scale]..] or "query_error": "..."}
// or {"error": "..."} when the connection or a metadata call fails.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;

public class JdbcMetadata {
    static String json(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    // rows renders the given columns of a metadata result set as a JSON array of arrays.
    static String rows(ResultSet rs, String... cols) throws SQLException {
        StringBuilder b = new StringBuilder("[");
        boolean first = true;
        try (rs) {
            while (rs.next()) {
                b.append(first ? "[" : ",[");
                first = false;
                for (int i = 0; i < cols.length; i++) {
                    b.append(i == 0 ? "" : ",").append(json(rs.getString(cols[i])));
                }
                b.append(']');
            }
        }
        return b.append(']').toString();
    }

    // message is the text of e and its causes: the driver's own message
    // ("while preparing SQL: ...") hides the agent's in a cause.
    static String message(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = e; c != null; c = c.getCause()) {
            b.append(b.length() == 0 ? "" : " / ").append(c.getMessage());
        }
        return b.toString();
    }

    static String describe(String url, String sql) {
        try (Connection conn = DriverManager.getConnection(url)) {
            DatabaseMetaData md = conn.getMetaData();
            StringBuilder b = new StringBuilder("{");
            b.append("\"catalogs\":").append(rows(md.getCatalogs(), "TABLE_CAT"));
            b.append(",\"schemas\":").append(rows(md.getSchemas(), "TABLE_SCHEM", "TABLE_CATALOG"));
            b.append(",\"tables\":").append(rows(md.getTables(null, null, "%", null), "TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE"));
            b.append(",\"columns\":").append(rows(md.getColumns(null, null, "%", "%"), "TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME",
                    "TYPE_NAME", "DATA_TYPE", "COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE"));
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                ResultSetMetaData rs = ps.getMetaData();
                StringBuilder q = new StringBuilder("[");
                for (int i = 1; i <= rs.getColumnCount(); i++) {
                    q.append(i == 1 ? "[" : ",[").append(json(rs.getColumnLabel(i))).append(',').append(json(rs.getColumnTypeName(i)))
                            .append(',').append(json(String.valueOf(rs.getColumnType(i))))
                            .append(',').append(json(String.valueOf(rs.getPrecision(i))))
                            .append(',').append(json(String.valueOf(rs.getScale(i)))).append(']');
                }
                b.append(",\"query\":").append(q.append(']'));
            } catch (SQLException e) {
                b.append(",\"query_error\":").append(json(message(e)));
            }
            return b.append('}').toString();
        } catch (SQLException e) {
            return "{\"error\":" + json(message(e)) + "}";
        }
    }

    public static void main(String[] args) throws Exception {
        java.io.PrintStream out = new java.io.PrintStream(System.out, true, "UTF-8");
        for (int u = 0; u + 1 < args.length; u += 2) {
            out.println(describe(args[u], args[u + 1]));
        }
    }
}
