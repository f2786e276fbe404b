-- minivmm-compare's batch job: build a 100,000-row table in memory, index
-- it, aggregate it, and print one line the runner checks (the row count and
-- sum(x % 97), which tools/compare/compare_lib.py computes independently).
.bail on
CREATE TABLE t(x INTEGER PRIMARY KEY, bucket INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO t SELECT x, x % 97 FROM c;
CREATE INDEX t_bucket ON t(bucket);
SELECT 'COMPARE-READY sqlite3 ' || count(*) || ' ' || sum(bucket) FROM t;
