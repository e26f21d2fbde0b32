package pgwire

import "strings"

// PostgreSQL clients read pg_catalog to list tables and describe them
// (psql's \d, DBeaver's navigator, JDBC's DatabaseMetaData). DuckDB has a
// pg_catalog of its own that lacks some of PostgreSQL's columns and
// tables; rewrite replaces a reference to one of those with a subquery
// that adds the missing columns (catalogColumns) or an empty relation of
// the missing table's columns (catalogTables). Values are what they mean
// here: no row security, no inheritance, no policies, no publications.

// catalogColumns are columns DuckDB's pg_catalog tables lack, with their
// values.
var catalogColumns = map[string]string{
	"pg_class": "false AS relforcerowsecurity",
	"pg_database": "'C' AS datcollate, 'C' AS datctype, CAST(NULL AS VARCHAR) AS daticulocale, CAST(NULL AS VARCHAR) AS daticurules, " +
		"'c' AS datlocprovider, CAST(NULL AS VARCHAR[]) AS datacl, 6 AS encoding, CAST(0 AS BIGINT) AS datdba, -1 AS datconnlimit, " +
		"CAST(NULL AS VARCHAR) AS datcollversion, CAST(0 AS BIGINT) AS dattablespace",
}

// catalogTables are pg_catalog tables DuckDB lacks: their columns (as
// clients read them), as an empty relation.
var catalogTables = map[string]string{
	"pg_inherits":              "CAST(NULL AS BIGINT) AS inhrelid, CAST(NULL AS BIGINT) AS inhparent, CAST(NULL AS INTEGER) AS inhseqno, false AS inhdetachpending",
	"pg_policy":                "CAST(NULL AS BIGINT) AS oid, CAST(NULL AS VARCHAR) AS polname, CAST(NULL AS BIGINT) AS polrelid, CAST(NULL AS VARCHAR) AS polcmd, false AS polpermissive, CAST(NULL AS BIGINT[]) AS polroles, CAST(NULL AS VARCHAR) AS polqual, CAST(NULL AS VARCHAR) AS polwithcheck",
	"pg_statistic_ext":         "CAST(NULL AS BIGINT) AS oid, CAST(NULL AS BIGINT) AS stxrelid, CAST(NULL AS VARCHAR) AS stxname, CAST(NULL AS BIGINT) AS stxnamespace, CAST(NULL AS BIGINT) AS stxowner, CAST(NULL AS INTEGER) AS stxstattarget, CAST(NULL AS INTEGER[]) AS stxkeys, CAST(NULL AS VARCHAR[]) AS stxkind, CAST(NULL AS VARCHAR) AS stxexprs",
	"pg_publication":           "CAST(NULL AS BIGINT) AS oid, CAST(NULL AS VARCHAR) AS pubname, CAST(NULL AS BIGINT) AS pubowner, false AS puballtables, false AS pubinsert, false AS pubupdate, false AS pubdelete, false AS pubtruncate, false AS pubviaroot",
	"pg_publication_rel":       "CAST(NULL AS BIGINT) AS oid, CAST(NULL AS BIGINT) AS prpubid, CAST(NULL AS BIGINT) AS prrelid, CAST(NULL AS VARCHAR) AS prqual, CAST(NULL AS INTEGER[]) AS prattrs",
	"pg_publication_namespace": "CAST(NULL AS BIGINT) AS oid, CAST(NULL AS BIGINT) AS pnpubid, CAST(NULL AS BIGINT) AS pnnspid",
	"pg_trigger":               "CAST(NULL AS BIGINT) AS oid, CAST(NULL AS BIGINT) AS tgrelid, CAST(NULL AS BIGINT) AS tgparentid, CAST(NULL AS VARCHAR) AS tgname, CAST(NULL AS BIGINT) AS tgfoid, CAST(NULL AS INTEGER) AS tgtype, CAST(NULL AS VARCHAR) AS tgenabled, false AS tgisinternal",
	"pg_rewrite":               "CAST(NULL AS BIGINT) AS oid, CAST(NULL AS VARCHAR) AS rulename, CAST(NULL AS BIGINT) AS ev_class, CAST(NULL AS VARCHAR) AS ev_type, CAST(NULL AS VARCHAR) AS ev_enabled, false AS is_instead",
	"pg_partitioned_table":     "CAST(NULL AS BIGINT) AS partrelid, CAST(NULL AS VARCHAR) AS partstrat, CAST(NULL AS INTEGER) AS partnatts",
	"pg_foreign_table":         "CAST(NULL AS BIGINT) AS ftrelid, CAST(NULL AS BIGINT) AS ftserver, CAST(NULL AS VARCHAR[]) AS ftoptions",
	"pg_extension":             "CAST(NULL AS BIGINT) AS oid, CAST(NULL AS VARCHAR) AS extname, CAST(NULL AS BIGINT) AS extowner, CAST(NULL AS BIGINT) AS extnamespace, false AS extrelocatable, CAST(NULL AS VARCHAR) AS extversion",
	"pg_roles":                 "CAST(0 AS BIGINT) AS oid, 'faultline' AS rolname, false AS rolsuper, false AS rolinherit, false AS rolcreaterole, false AS rolcreatedb, true AS rolcanlogin, false AS rolreplication, -1 AS rolconnlimit, CAST(NULL AS TIMESTAMPTZ) AS rolvaliduntil, false AS rolbypassrls",
	"pg_user":                  "'faultline' AS usename, CAST(0 AS BIGINT) AS usesysid, false AS usecreatedb, false AS usesuper, false AS userepl, false AS usebypassrls, CAST(NULL AS TIMESTAMPTZ) AS valuntil",
	"pg_auth_members":          "CAST(NULL AS BIGINT) AS roleid, CAST(NULL AS BIGINT) AS member, CAST(NULL AS BIGINT) AS grantor, false AS admin_option",
	"pg_range":                 "CAST(NULL AS BIGINT) AS rngtypid, CAST(NULL AS BIGINT) AS rngsubtype",
}

// catalogRelation returns what replaces a reference to the catalog table
// name ("" when DuckDB's own is complete).
func catalogRelation(name string) string {
	name = strings.ToLower(name)
	if cols, ok := catalogColumns[name]; ok {
		return "(SELECT *, " + cols + " FROM pg_catalog." + name + ")"
	}
	if cols, ok := catalogTables[name]; ok {
		// The roles views hold the one user; the others are empty.
		if name == "pg_roles" || name == "pg_user" {
			return "(SELECT " + cols + ")"
		}
		return "(SELECT " + cols + " WHERE false)"
	}
	return ""
}
