#!/usr/bin/env bash
# An app image of a real Debian program (sqlite3 with a script), built by
# minivmm-image and served to the Linux guest by virtio-blk: its output and
# exit status come back.
#   linux-app-image.sh MINIVMM-IMAGE MINIVMM KERNEL
set -eu
image_tool=$1 minivmm=$2 kernel=$3
work=$(mktemp -d /var/tmp/minivmm-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/t.sql" <<'SQL'
CREATE TABLE t(x INTEGER);
INSERT INTO t VALUES (20), (22);
SELECT 'sum=' || sum(x) FROM t;
SQL
"$image_tool" build -o "$work/app.img" --add "$work/t.sql" -- \
	/usr/bin/sqlite3 -batch -bail -init "$work/t.sql" :memory: .quit
"$image_tool" inspect "$work/app.img" | grep -q 'sqlite3 .*/usr/bin/sqlite3'
status=0
"$minivmm" --stats --timeout 800 --kernel "$kernel" --app "$work/app.img" || status=$?
# The same image with the command overridden after --: sqlite3 fails on a
# missing file and its non-zero status must come back.
"$minivmm" -q --timeout 800 --kernel "$kernel" --app "$work/app.img" -- \
	/usr/bin/sqlite3 -batch -bail /nonexistent/db 'select 1' && status=99
echo "override status: $?"
exit "$status"
