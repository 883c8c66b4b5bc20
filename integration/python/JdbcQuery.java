// JdbcQuery.java: the Arrow Flight SQL JDBC driver as a client of nscale's
// agent, run by integration/python_test.go in the JDK's single-file mode:
//
//   java --add-opens=java.base/java.nio=ALL-UNNAMED -cp flight-sql-jdbc-driver.jar \
//       JdbcQuery.java URL SQL [URL SQL]...
//
// For each JDBC URL and query it prints one JSON line: {"columns": [names], "rows":
// [[getString of each column, or null]]}, or {"error": "<SQLException
// message>"}. The method marked "docs/clients.md" is copied verbatim from
// that file (python_test.go checks it).

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

public class JdbcQuery {
    // --- docs/clients.md: java ---
    // url: jdbc:arrow-flight-sql://127.0.0.1:7443/?useEncryption=false&token=<token>
    static List<String[]> query(String url, String sql) throws SQLException {
        List<String[]> rows = new ArrayList<>();
        try (Connection conn = DriverManager.getConnection(url);
             Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            String[] names = new String[md.getColumnCount()];
            for (int i = 0; i < names.length; i++) {
                names[i] = md.getColumnLabel(i + 1);
            }
            rows.add(names);
            while (rs.next()) {
                String[] row = new String[names.length];
                for (int i = 0; i < row.length; i++) {
                    row[i] = rs.getString(i + 1);
                }
                rows.add(row);
            }
        }
        return rows;
    }
    // --- end ---

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

    static String array(String[] values) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) {
            b.append(i == 0 ? "" : ",").append(json(values[i]));
        }
        return b.append(']').toString();
    }

    public static void main(String[] args) throws Exception {
        java.io.PrintStream out = new java.io.PrintStream(System.out, true, "UTF-8");
        for (int u = 0; u + 1 < args.length; u += 2) {
            try {
                List<String[]> rows = query(args[u], args[u + 1]);
                StringBuilder b = new StringBuilder("{\"columns\":").append(array(rows.get(0))).append(",\"rows\":[");
                for (int r = 1; r < rows.size(); r++) {
                    b.append(r == 1 ? "" : ",").append(array(rows.get(r)));
                }
                out.println(b.append("]}"));
            } catch (SQLException e) {
                out.println("{\"error\":" + json(String.valueOf(e.getMessage())) + "}");
            }
        }
    }
}
