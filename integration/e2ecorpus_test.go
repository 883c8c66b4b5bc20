//go:build integration

package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/nscale/nscale/integration/jsharness"
)

// What each user sees of e2e.people, written out by hand in DuckDB SQL from
// e2ePolicy, docs/policy.md and docs/masks.md: the row filter and cell
// filters on stored values, then the masks. A case's own query then runs
// over the view, as the agent runs the user's WHERE over masked values.
// Hashed columns stay clear here: the test hashes them (e2eCase.hash).
const (
	euRows = `country IN ('DE', 'FR', 'ES', 'IE')`
	annV   = `(SELECT id, name, email_domain(email) AS email, show_last(card, 4) AS card, country, amount, score,
		year_of(signup) AS signup, seen, active, visits, address, dt FROM {P} WHERE ` + euRows + `)`
	miaV = `(SELECT id, show_first(name, 2) AS name, email, redact_str(card) AS card, country,
		CAST(round(amount, 0) AS DECIMAL(12,2)) AS amount, round(score, 1) AS score, CAST(NULL AS DATE) AS signup,
		year_tz(seen) AS seen, CASE WHEN active IS NULL THEN NULL ELSE false END AS active,
		CASE WHEN visits IS NULL THEN NULL ELSE CAST(0 AS INTEGER) END AS visits,
		CASE WHEN address IS NULL THEN NULL ELSE struct_pack(city := redact_str(address.city), zip := redact_str(address.zip)) END AS address,
		dt FROM {P})`
	coleV = `(SELECT id, name, country, amount, dt FROM {P})`
	celV  = `(SELECT id, CASE WHEN country = 'DE' THEN email END AS email, CASE WHEN country = 'FR' THEN card END AS card, country,
		CASE WHEN country = 'DE' THEN amount END AS amount, CASE WHEN country = 'FR' THEN visits END AS visits
		FROM {P} WHERE country = 'DE' OR country = 'FR')`
	unaV  = `(SELECT id, name, email, card, country, amount, score, year_of(signup) AS signup, seen, active, visits, address, dt FROM {P} WHERE active)`
	doraV = `(SELECT id, name, email, card, country, amount, score, year_of(signup) AS signup, seen, active, visits, address, dt FROM {P} WHERE country = 'DE')`
	junV  = `(SELECT id, name, email, card, country, amount, score, year_of(signup) AS signup, seen, active, visits, address, dt FROM {P} WHERE country = 'JP')`
)

var pii = []string{"name", "email", "card"}

var e2eCorpus = []e2eCase{
	// catalog_admin: every row and column, unmasked; query shapes.
	{name: "admin sees every row and column", user: "ada", sql: "SELECT * FROM e2e.people", duck: "SELECT * FROM {P}"},
	{name: "admin filter on decimal", user: "ada", sql: "SELECT id, amount FROM e2e.people WHERE amount > 1000000.50",
		duck: "SELECT id, amount FROM {P} WHERE amount > 1000000.50"},
	{name: "admin decimal equality", user: "ada", sql: "SELECT id, name FROM e2e.people WHERE amount = 306899.39",
		duck: "SELECT id, name FROM {P} WHERE amount = 306899.39"},
	{name: "admin partition pruning", user: "ada", sql: `SELECT "id", "dt" FROM e2e.people WHERE "dt" = '2024-03-02'`,
		duck: "SELECT id, dt FROM {P} WHERE dt = DATE '2024-03-02'"},
	{name: "admin partition BETWEEN and column aliases", user: "ada",
		sql:  `SELECT id AS person_id, name AS "Full Name", dt AS day FROM e2e.people WHERE dt BETWEEN '2024-03-01' AND DATE '2024-03-01'`,
		duck: `SELECT id AS person_id, name AS "Full Name", dt AS day FROM {P} WHERE dt = DATE '2024-03-01'`},
	{name: "admin quoted identifiers and a table alias", user: "ada",
		sql:  `SELECT p."id", p."country", p."visits" AS "Visits" FROM e2e.people AS p WHERE p."country" = 'JP'`,
		duck: `SELECT id, country, visits AS "Visits" FROM {P} WHERE country = 'JP'`},
	{name: "admin columns qualified by table and database", user: "ada",
		sql:  "SELECT e2e.people.id, people.name FROM e2e.people WHERE people.visits > 500",
		duck: "SELECT id, name FROM {P} WHERE visits > 500"},
	{name: "admin AND OR NOT with nulls", user: "ada",
		sql:  "SELECT id, country, active FROM e2e.people WHERE (country = 'DE' OR country = 'FR') AND NOT active",
		duck: "SELECT id, country, active FROM {P} WHERE (country = 'DE' OR country = 'FR') AND NOT active"},
	{name: "admin dates", user: "ada",
		sql:  "SELECT id, signup FROM e2e.people WHERE signup >= DATE '2023-01-01' AND signup < '2023-07-01'",
		duck: "SELECT id, signup FROM {P} WHERE signup >= DATE '2023-01-01' AND signup < DATE '2023-07-01'"},
	{name: "admin timestamps with a zone", user: "ada",
		sql:  "SELECT id, seen FROM e2e.people WHERE seen > TIMESTAMP WITH TIME ZONE '2023-12-01 00:00:00+00' AND seen <= '2024-01-15 12:00:00'",
		duck: "SELECT id, seen FROM {P} WHERE seen > TIMESTAMPTZ '2023-12-01 00:00:00+00' AND seen <= TIMESTAMPTZ '2024-01-15 12:00:00+00'"},
	{name: "admin timestamp offset literal", user: "ada",
		sql:  "SELECT id FROM e2e.people WHERE seen < TIMESTAMP WITH TIME ZONE '2023-03-01 02:00:00+02'",
		duck: "SELECT id FROM {P} WHERE seen < TIMESTAMPTZ '2023-03-01 00:00:00+00'"},
	{name: "admin unicode string equality and order", user: "ada",
		sql:  "SELECT id, name FROM e2e.people WHERE name = 'Zoë' OR name = '李雷' OR name > 'Ñ'",
		duck: "SELECT id, name FROM {P} WHERE name = 'Zoë' OR name = '李雷' OR name > 'Ñ'"},
	{name: "admin empty string and NOT IN", user: "ada",
		sql:  "SELECT id, name FROM e2e.people WHERE name NOT IN ('Zoë', 'Bob', 'Émile') AND name <= ''",
		duck: "SELECT id, name FROM {P} WHERE name NOT IN ('Zoë', 'Bob', 'Émile') AND name <= ''"},
	{name: "admin booleans", user: "ada", sql: "SELECT id, active FROM e2e.people WHERE active = true OR active IS NULL",
		duck: "SELECT id, active FROM {P} WHERE active = true OR active IS NULL"},
	{name: "admin IS NOT TRUE", user: "ada", sql: "SELECT id FROM e2e.people WHERE active IS NOT TRUE",
		duck: "SELECT id FROM {P} WHERE active IS NOT TRUE"},
	{name: "admin int32 and double", user: "ada", sql: "SELECT id, visits, score FROM e2e.people WHERE visits < -50 OR score >= 1400.5",
		duck: "SELECT id, visits, score FROM {P} WHERE visits < -50 OR score >= 1400.5"},
	{name: "admin IN", user: "ada", sql: "SELECT id, country FROM e2e.people WHERE country IN ('JP', 'BR') AND id NOT IN (4, 10, 12)",
		duck: "SELECT id, country FROM {P} WHERE country IN ('JP', 'BR') AND id NOT IN (4, 10, 12)"},
	{name: "admin BETWEEN on decimal and int", user: "ada",
		sql:  "SELECT id, amount, visits FROM e2e.people WHERE amount BETWEEN 100000 AND 900000.50 AND visits NOT BETWEEN 0 AND 700",
		duck: "SELECT id, amount, visits FROM {P} WHERE amount BETWEEN 100000 AND 900000.50 AND visits NOT BETWEEN 0 AND 700"},
	{name: "admin LIKE", user: "ada", sql: "SELECT id, name, email FROM e2e.people WHERE email LIKE '%@example.com' OR name LIKE '_o%'",
		duck: "SELECT id, name, email FROM {P} WHERE email LIKE '%@example.com' OR name LIKE '_o%'"},
	{name: "admin ILIKE on unicode", user: "ada", sql: "SELECT id, name FROM e2e.people WHERE name ILIKE 'é%' OR name ILIKE 'ÑAND_' OR name ILIKE 'zoË'",
		duck: "SELECT id, name FROM {P} WHERE name ILIKE 'é%' OR name ILIKE 'ÑAND_' OR name ILIKE 'zoË'"},
	{name: "admin IS NULL on a struct and a string", user: "ada", sql: "SELECT id, address, email FROM e2e.people WHERE address IS NULL OR email IS NULL",
		duck: "SELECT id, address, email FROM {P} WHERE address IS NULL OR email IS NULL"},
	{name: "admin selects struct fields (NULL where the struct is NULL)", user: "ada",
		sql:  "SELECT id, address.city, address.zip AS postcode FROM e2e.people",
		duck: "SELECT id, address.city AS city, address.zip AS postcode FROM {P}"},
	{name: "redacted struct's field is redacted", user: "mia", sql: "SELECT id, address.city FROM e2e.people",
		duck: "SELECT id, address.city AS city FROM " + miaV},
	{name: "Spark count: SELECT 1 with the analyst's row filter", user: "ann",
		sql:  `SELECT 1 FROM e2e.people WHERE ("visits" > 100)`,
		duck: `SELECT CAST(1 AS BIGINT) AS "1" FROM ` + annV + ` WHERE visits > 100`},
	{name: "Spark count through the query option", user: "ada",
		sql:  `SELECT 1 FROM (SELECT id FROM e2e.people WHERE country = 'JP') SPARK_GEN_SUBQ_0`,
		duck: `SELECT CAST(1 AS BIGINT) AS "1" FROM {P} WHERE country = 'JP'`},
	{name: "Spark query option: outer columns of the subquery", user: "ada",
		sql:  `SELECT "id","e" FROM (SELECT id, email AS e, country FROM e2e.people WHERE country = 'DE') SPARK_GEN_SUBQ_0 WHERE ("e" IS NOT NULL)`,
		duck: "SELECT id, email AS e FROM {P} WHERE country = 'DE' AND email IS NOT NULL"},
	{name: "admin struct field in WHERE", user: "ada", sql: "SELECT id, address FROM e2e.people WHERE address.city = '東京' AND address.zip IS NOT NULL",
		duck: "SELECT id, address FROM {P} WHERE address.city = '東京' AND address.zip IS NOT NULL"},
	{name: "admin CAST", user: "ada",
		sql:  "SELECT id, amount FROM e2e.people WHERE CAST(amount AS bigint) > 1500000 OR CAST(visits AS varchar) LIKE '1%' OR CAST(signup AS text) LIKE '2019-%'",
		duck: "SELECT id, amount FROM {P} WHERE CAST(amount AS BIGINT) > 1500000 OR CAST(visits AS VARCHAR) LIKE '1%' OR CAST(signup AS VARCHAR) LIKE '2019-%'"},
	{name: "admin CAST decimal to double and ::", user: "ada", sql: "SELECT id FROM e2e.people WHERE amount::double < 50000.5 OR CAST(score AS int) = 523",
		duck: "SELECT id FROM {P} WHERE CAST(amount AS DOUBLE) < 50000.5 OR CAST(score AS INTEGER) = 523"},
	{name: "admin IN and NOT IN with NULL are three-valued", user: "ada",
		sql:  "SELECT id FROM e2e.people WHERE id IN (1, 2, NULL) OR NOT (id NOT IN (3, NULL))",
		duck: "SELECT id FROM {P} WHERE id IN (1, 2, NULL) OR NOT (id NOT IN (3, NULL))"},
	{name: "admin int column against decimal and float literals", user: "ada",
		sql:  "SELECT id, visits FROM e2e.people WHERE visits > 100.5 AND visits <= 2e2",
		duck: "SELECT id, visits FROM {P} WHERE visits > 100.5 AND visits <= 2e2"},
	{name: "admin date against a timestamp literal", user: "ada",
		sql:  "SELECT id, signup FROM e2e.people WHERE signup < TIMESTAMP '2020-06-01 12:00:00'",
		duck: "SELECT id, signup FROM {P} WHERE signup < TIMESTAMP '2020-06-01 12:00:00'"},
	{name: "admin string ranges are case-sensitive", user: "ada",
		sql:  "SELECT id, country FROM e2e.people WHERE country >= 'F' AND country < 'J' OR country = 'de'",
		duck: "SELECT id, country FROM {P} WHERE country >= 'F' AND country < 'J' OR country = 'de'"},
	{name: "admin BETWEEN with reversed bounds", user: "ada", sql: "SELECT id FROM e2e.people WHERE amount BETWEEN 900000 AND 100000",
		duck: "SELECT id FROM {P} WHERE amount BETWEEN 900000 AND 100000", empty: true},
	{name: "admin empty result keeps the columns", user: "ada", sql: "SELECT id, amount, seen FROM e2e.people WHERE country = 'XX'",
		duck: "SELECT id, amount, seen FROM {P} WHERE country = 'XX'", empty: true},
	{name: "admin LIMIT", user: "ada", sql: "SELECT id, name, address FROM e2e.people LIMIT 5",
		duck: "SELECT id, name, address FROM {P}", limit: 5},
	{name: "admin LIMIT with WHERE across files", user: "ada", sql: "SELECT id, country FROM e2e.people WHERE visits > 800 LIMIT 7",
		duck: "SELECT id, country FROM {P} WHERE visits > 800", limit: 7},
	{name: "admin LIMIT above the row count", user: "ada", sql: "SELECT id FROM e2e.people LIMIT 1000",
		duck: "SELECT id FROM {P}", limit: 1000},
	{name: "admin LIMIT 0 keeps the columns", user: "ada", sql: "SELECT id, name FROM e2e.people LIMIT 0",
		duck: "SELECT id, name FROM {P} LIMIT 0", empty: true},
	{name: "admin Spark schema probe", user: "ada",
		sql:  "SELECT * FROM (SELECT id, name, amount, address FROM e2e.people) SPARK_GEN_SUBQ_0 WHERE 1=0",
		duck: "SELECT id, name, amount, address FROM {P} WHERE 1=0", empty: true},
	{name: "admin Spark subquery with an outer filter", user: "ada",
		sql:  "SELECT * FROM (SELECT id, country, visits FROM e2e.people WHERE country = 'DE') SPARK_GEN_SUBQ_1 WHERE visits > 100",
		duck: "SELECT id, country, visits FROM {P} WHERE country = 'DE' AND visits > 100"},
	{name: "admin Spark pushed filters", user: "ada",
		sql:  `SELECT "id","name","country" FROM e2e.people WHERE ("visits" > 100) AND ("email" IS NOT NULL)`,
		duck: "SELECT id, name, country FROM {P} WHERE visits > 100 AND email IS NOT NULL"},
	{name: "admin Spark split of SELECT *", user: "ada", sql: `SELECT * FROM e2e.people WHERE (_nscale_split = {SPLIT})`,
		duck: "SELECT * FROM {P}", split: 3},

	// analyst: EU rows, email_domain, show_last(4), date_year by tag policy, name unmasked.
	{name: "analyst: EU rows, masked email and card", user: "ann", sql: "SELECT id, email, card, country FROM e2e.people",
		duck: "SELECT id, email, card, country FROM " + annV},
	{name: "analyst: SELECT * with masks and a struct", user: "ann", sql: "SELECT * FROM e2e.people", duck: "SELECT * FROM " + annV},
	{name: "analyst: WHERE on the stored card finds nothing", user: "ann", sql: "SELECT id FROM e2e.people WHERE card LIKE '4%'",
		duck: "SELECT id FROM " + annV + " WHERE card LIKE '4%'", empty: true},
	{name: "analyst: WHERE on the masked card matches masked values", user: "ann", sql: "SELECT id, card FROM e2e.people WHERE card LIKE 'xxxxxxxxxxxx%'",
		duck: "SELECT id, card FROM " + annV + " WHERE card LIKE 'xxxxxxxxxxxx%'"},
	{name: "analyst: WHERE on a masked column not selected", user: "ann", sql: "SELECT id, name FROM e2e.people WHERE email = 'xxxx@mple.net'",
		duck: "SELECT id, name FROM " + annV + " WHERE email = 'xxxx@mple.net'"},
	{name: "analyst: WHERE on an unmasked column not selected", user: "ann", sql: "SELECT name FROM e2e.people WHERE visits > 300 AND score < 900",
		duck: "SELECT name FROM " + annV + " WHERE visits > 300 AND score < 900"},
	{name: "analyst: date_year compared as masked", user: "ann", sql: "SELECT id, signup FROM e2e.people WHERE signup = DATE '2023-01-01'",
		duck: "SELECT id, signup FROM " + annV + " WHERE signup = DATE '2023-01-01'"},
	{name: "analyst: rows outside the row filter stay hidden", user: "ann", sql: "SELECT id, country FROM e2e.people WHERE country = 'US' OR country IS NULL",
		duck: "SELECT id, country FROM " + annV + " WHERE country = 'US' OR country IS NULL", empty: true},
	{name: "analyst: LIMIT", user: "ann", sql: "SELECT country FROM e2e.people WHERE country = 'DE' LIMIT 3",
		duck: "SELECT country FROM " + annV + " WHERE country = 'DE'", limit: 3},
	{name: "analyst: Spark pushed filters", user: "ann", sql: `SELECT "id","email" FROM e2e.people WHERE ("country" = 'FR') AND ("email" IS NOT NULL)`,
		duck: "SELECT id, email FROM " + annV + " WHERE country = 'FR' AND email IS NOT NULL"},
	{name: "analyst: Spark split with pushed filters", user: "ann",
		sql:  `SELECT "id","card","dt" FROM e2e.people WHERE (("visits" IS NOT NULL) AND ("card" IS NOT NULL)) AND (_nscale_split = {SPLIT})`,
		duck: "SELECT id, card, dt FROM " + annV + " WHERE visits IS NOT NULL AND card IS NOT NULL", split: 3},

	// mia: one column mask of each kind; email hashed by the tag policy.
	{name: "masks: SELECT * with every column mask", user: "mia", sql: "SELECT * FROM e2e.people", duck: "SELECT * FROM " + miaV, hash: []string{"email"}},
	{name: "masks: round(1) compared as masked", user: "mia", sql: "SELECT id, score FROM e2e.people WHERE score = 523.9 OR score = 191",
		duck: "SELECT id, score FROM " + miaV + " WHERE score = 523.9 OR score = 191"},
	{name: "masks: round(0) on a decimal", user: "mia", sql: "SELECT id, amount FROM e2e.people WHERE amount > 1500000",
		duck: "SELECT id, amount FROM " + miaV + " WHERE amount > 1500000"},
	{name: "masks: redact on a bool, show_first", user: "mia", sql: "SELECT name, active FROM e2e.people WHERE active = false",
		duck: "SELECT name, active FROM " + miaV + " WHERE active = false"},
	{name: "masks: null hides every value", user: "mia", sql: "SELECT id FROM e2e.people WHERE signup IS NOT NULL",
		duck: "SELECT id FROM " + miaV + " WHERE signup IS NOT NULL", empty: true},
	{name: "masks: date_year on timestamptz compared as masked", user: "mia",
		sql:  "SELECT id, seen FROM e2e.people WHERE seen = TIMESTAMP WITH TIME ZONE '2024-01-01 00:00:00+00'",
		duck: "SELECT id, seen FROM " + miaV + " WHERE seen = TIMESTAMPTZ '2024-01-01 00:00:00+00'"},
	{name: "masks: zero and redacted struct", user: "mia", sql: "SELECT id, visits, address, card FROM e2e.people WHERE visits = 0",
		duck: "SELECT id, visits, address, card FROM " + miaV + " WHERE visits = 0"},
	{name: "masks: hash is not the stored value", user: "mia", sql: "SELECT id, email FROM e2e.people WHERE email LIKE 'user%'",
		duck: "SELECT id, email FROM " + miaV + " WHERE false", empty: true},
	{name: "masks: hash of email", user: "mia", sql: "SELECT id, email FROM e2e.people WHERE country = 'BR'",
		duck: "SELECT id, email FROM " + miaV + " WHERE country = 'BR'", hash: []string{"email"}},
	{name: "masks: LIMIT", user: "mia", sql: "SELECT name, card, seen FROM e2e.people LIMIT 4",
		duck: "SELECT name, card, seen FROM " + miaV, limit: 4},

	// tim: tokenize, checked by its properties.
	{name: "tokenize: deterministic, one token per value, never the value", user: "tim", sql: "SELECT * FROM e2e.people",
		duck: "SELECT id, country, amount, seen FROM {P}", props: tokenProps},
	{name: "tokenize: the same tokens in another query", user: "tim", sql: "SELECT seen, amount, country, id FROM e2e.people WHERE amount > 800000",
		duck: "SELECT seen, amount, country, id FROM {P} WHERE amount > 800000", props: tokenProps},

	// cole: a column grant; the others are absent, even from SELECT *.
	{name: "column grant: SELECT * is the granted columns", user: "cole", sql: "SELECT * FROM e2e.people",
		duck: "SELECT * FROM " + coleV, hash: []string{"name"}},
	{name: "column grant: filter on a granted column", user: "cole", sql: "SELECT id, country FROM e2e.people WHERE amount > 1000000 AND dt = '2024-03-01'",
		duck: "SELECT id, country FROM " + coleV + " WHERE amount > 1000000 AND dt = DATE '2024-03-01'"},

	// cel: cell filters from two grants.
	{name: "cell filters: SELECT *", user: "cel", sql: "SELECT * FROM e2e.people", duck: "SELECT * FROM " + celV, hash: []string{"email"}},
	{name: "cell filters: WHERE sees the NULLed cells", user: "cel", sql: "SELECT id, country FROM e2e.people WHERE amount IS NULL",
		duck: "SELECT id, country FROM " + celV + " WHERE amount IS NULL"},
	{name: "cell filters: unmasked card where FR", user: "cel", sql: "SELECT card, visits FROM e2e.people WHERE card IS NOT NULL OR visits > 0",
		duck: "SELECT card, visits FROM " + celV + " WHERE card IS NOT NULL OR visits > 0"},

	// una: boolean row filter, UNMASK on the pii tag.
	{name: "unmask tag: pii clear, date_year stays", user: "una", sql: "SELECT * FROM e2e.people", duck: "SELECT * FROM " + unaV},
	{name: "unmask tag: user WHERE within the row filter", user: "una", sql: "SELECT id, card FROM e2e.people WHERE card LIKE '41%' OR active = false",
		duck: "SELECT id, card FROM " + unaV + " WHERE card LIKE '41%' OR active = false"},

	// user_attribute('country').
	{name: "attribute: country DE", user: "dora", sql: "SELECT id, name, country, signup FROM e2e.people",
		duck: "SELECT id, name, country, signup FROM " + doraV, hash: []string{"name"}},
	{name: "attribute: country JP, SELECT *", user: "jun", sql: "SELECT * FROM e2e.people", duck: "SELECT * FROM " + junV, hash: pii},
	{name: "attribute: no attribute, no rows", user: "nob", sql: "SELECT id, country FROM e2e.people",
		duck: "SELECT id, country FROM {P} WHERE false", empty: true},
}

// tokenPattern is a string token (docs/masks.md).
var tokenPattern = regexp.MustCompile(`^tok_[a-z2-7]{26}$`)

// tokenProps checks tim's tokenized id and country against the clear
// values, matching rows by amount and seen (unique, never both NULL):
// NULL stays NULL, a token never equals its value, equal values have equal
// tokens and different values different tokens, string tokens have the
// documented form, and every token agrees with the ones seen before
// (other queries, the other client).
func tokenProps(t *testing.T, e *e2eEnv, want, got jsharness.Result) {
	t.Helper()
	if d := jsharness.Diff(jsharness.Result{Columns: want.Columns}, jsharness.Result{Columns: got.Columns}); d != "" {
		t.Fatal(d)
	}
	if len(got.Rows) != len(want.Rows) || len(want.Rows) == 0 {
		t.Fatalf("%d rows, want %d", len(got.Rows), len(want.Rows))
	}
	idx := func(name string) int {
		i := columnIndex(want, name)
		if i < 0 {
			t.Fatalf("no column %s", name)
		}
		return i
	}
	amount, seen := idx("amount"), idx("seen")
	key := func(r []any) string { b, _ := json.Marshal([]any{r[amount], r[seen]}); return string(b) }
	clear := map[string][]any{}
	for _, r := range want.Rows {
		k := key(r)
		if _, dup := clear[k]; dup {
			t.Fatalf("key %s is not unique", k)
		}
		clear[k] = r
	}
	repeated := false
	for _, col := range []string{"id", "country"} {
		c := idx(col)
		isString := want.Columns[c].Type == "string"
		for _, r := range got.Rows {
			w, ok := clear[key(r)]
			if !ok {
				t.Fatalf("row %v matches no stored row", r)
			}
			v, tok := w[c], r[c]
			if (v == nil) != (tok == nil) {
				t.Fatalf("%s: value %v became %v", col, v, tok)
			}
			if v == nil {
				continue
			}
			if tok == v {
				t.Fatalf("%s: %v is served as is", col, v)
			}
			if isString && !tokenPattern.MatchString(tok.(string)) {
				t.Fatalf("%s: token %q is not tok_ + 26 base32 characters", col, tok)
			}
			vk, tk := col+"\x00"+jsonOf(v), col+"\x01"+jsonOf(tok)
			if prev, ok := e.tokensSeen[vk]; ok {
				repeated = true
				if prev != jsonOf(tok) {
					t.Fatalf("%s: %v has tokens %s and %v", col, v, prev, tok)
				}
			}
			if prev, ok := e.tokensSeen[tk]; ok && prev != jsonOf(v) {
				t.Fatalf("%s: token %v stands for %s and %v", col, tok, prev, v)
			}
			e.tokensSeen[vk], e.tokensSeen[tk] = jsonOf(tok), jsonOf(v)
		}
	}
	if !repeated {
		t.Fatal("no value was seen twice; determinism is untested")
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return strings.TrimSpace(string(b))
}
