// The PostgreSQL JDBC driver against faultline's PostgreSQL endpoint
// (pgwire/clients_test.go): java -cp postgresql.jar JdbcCheck.java URL.
// Prints "ok <name> <detail>" or "FAIL <name> <detail>" per check.
import java.sql.*;

public class JdbcCheck {
    static boolean failed = false;

    static void check(String name, boolean ok, Object detail) {
        System.out.println((ok ? "ok " : "FAIL ") + name + " " + detail);
        if (!ok) failed = true;
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            DatabaseMetaData md = c.getMetaData();
            check("metadata", md.getDatabaseProductName().equals("PostgreSQL"), md.getDatabaseProductVersion());
            // Prepared statements, used often enough to become server-side
            // prepared (prepareThreshold) and to switch to binary results.
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*), max(time) FROM events WHERE service = ? AND src_offset < ?")) {
                long total = 0;
                for (int i = 0; i < 8; i++) {
                    ps.setString(1, "svc" + (i % 4));
                    ps.setLong(2, 1000);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        total += rs.getLong(1);
                        rs.getTimestamp(2);
                    }
                }
                check("prepared", total == 2000, total);
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT event_id, time, severity_number, attributes FROM events WHERE event_id = ?")) {
                ps.setString(1, "e3");
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    ResultSetMetaData m = rs.getMetaData();
                    check("types", m.getColumnTypeName(2).equals("timestamptz") && m.getColumnTypeName(3).equals("int4")
                        && rs.getInt(3) == 17 && rs.getString(4).contains("\"k\""),
                        m.getColumnTypeName(2) + " " + m.getColumnTypeName(3) + " " + rs.getString(4));
                }
            }
            // Fetch size with autocommit off: a portal read in pieces
            // (Execute with a row limit, PortalSuspended).
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("SELECT src_offset FROM events ORDER BY src_offset")) {
                ps.setFetchSize(100);
                int n = 0;
                long last = -1;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        n++;
                        last = rs.getLong(1);
                    }
                }
                check("fetch_size", n == 1000 && last == 999, n);
            }
            c.commit();
            c.setAutoCommit(true);
            // Refused statements: an SQLException with the SQLSTATE, as a
            // plain statement and as a prepared one; the connection stays
            // usable after each.
            String[][] refused = {
                {"DROP TABLE events", "25006"},
                {"COPY events TO '/tmp/faultline-jdbc.csv'", "25006"},
                {"SELECT * FROM read_csv('/etc/passwd')", "42501"},
            };
            int usable = 0;
            for (String[] r : refused) {
                try (Statement s = c.createStatement()) {
                    s.execute(r[0]);
                    check("refused " + r[0], false, "no error");
                } catch (SQLException e) {
                    check("refused " + r[0], r[1].equals(e.getSQLState()), e.getSQLState() + " " + e.getMessage());
                }
                try (PreparedStatement ps = c.prepareStatement(r[0])) {
                    ps.execute();
                    check("refused prepared " + r[0], false, "no error");
                } catch (SQLException e) {
                    check("refused prepared " + r[0], r[1].equals(e.getSQLState()), e.getSQLState());
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM events WHERE service = ?")) {
                    ps.setString(1, "svc1");
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (rs.getLong(1) == 250) usable++;
                    }
                }
            }
            check("usable", usable == refused.length, usable);
            try (ResultSet rs = md.getTables(null, null, "events", null)) {
                check("getTables", rs.next() && rs.getString("TABLE_NAME").equals("events"), "");
            } catch (SQLException e) {
                check("getTables", false, e.getMessage());
            }
        }
        System.exit(failed ? 1 : 0);
    }
}
