#!/bin/sh
# The paper's §II, run for real on Debian's own packages: a blog in
# production (Root: a Debian bookworm tree with apache2, libapache2-mod-php,
# mariadb-server and wordpress, POSTS posts of about 6,500 bytes), WordPress
# upgraded in a world WPUpdate and PHP in a world PHPUpdate, a test world
# WPTest over both with Root's database dumped and restored into it, the
# blog checked through a forwarded port, wdiff of each world, WPTest
# deleted, both updates merged into Root while Root serves the blog (the
# second with --handover 80; a client's requests must all succeed
# meanwhile), and the blog, the package versions and dpkg --audit checked
# in Root.
#
#   examples/wordpress-php/run.sh             (as root; make example-wordpress)
#   POSTS=100 examples/wordpress-php/run.sh   fewer posts (CI)
#   examples/wordpress-php/run.sh --prepare   only fetch (prepare.sh)
#
# What needs the network (the tree and the updates: prepare.sh) is fetched
# once into PWAPT_CACHE (default /var/cache/pwapt); the scenario itself
# runs in a network namespace of its own on a temporary copy of the tree
# as Root: this machine's own / is never touched.  Every step checks its
# result; the first that fails ends the run with exit status 1, naming it.
# Services are started by hand (the tree has no init system), as the
# paper's `service ... start`.  Tracing is off unless PWAPT_EXAMPLE_TRACE=bpf.
# PWAPT_PAPER_TIMES=FILE: the times of the world commands and the sizes of
# the worlds' layers appended to FILE (tools/paper, `make paper`).
# PWAPT_PAPER_AB=N: then the paper's Table V, ab against the front page in
# Root and in a child world, N requests 10 at a time, tracing off and with
# each backend of PWAPT_PAPER_AB_TRACE (default "off bpf audit"), in
# PWAPT_PAPER_AB_ROUNDS rounds (default 1); see below.
here=$(cd "$(dirname "$0")" && pwd)
PWAPT_TREE_EXTRA=$(cat "$here/packages")
export PWAPT_TREE_EXTRA
: "${PWAPT_TEST_MUST_WORK:=1}"
POSTS=${POSTS:-1000}
export PWAPT_TEST_MUST_WORK POSTS
case $POSTS in '' | *[!0-9]* | 0)
	echo "wordpress-php: POSTS must be a number of posts (1 or more), not '$POSTS'" >&2
	exit 2 ;;
esac
if [ "${1:-}" = --prepare ]; then
	"$here/prepare.sh" >/dev/null
	exit
fi
# With the network, before tests/lib.sh moves into a namespace without it.
if [ -z "${PWAPT_TEST_NETNS:-}" ]; then
	"$here/prepare.sh" >/dev/null || exit 1
fi
. "$here/../../tests/lib.sh"
. "$SRC_DIR/examples/lib-example.sh"
. "$TEST_DIR/lib-net.sh"
make_debian_root
case ${PWAPT_EXAMPLE_TRACE:-off} in
off) ;;
bpf | audit)
	PWAPT_TRACE=$PWAPT_EXAMPLE_TRACE
	command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin ;;
*) echo "wordpress-php: PWAPT_EXAMPLE_TRACE is off, bpf or audit" >&2; exit 2 ;;
esac
R=$PWAPT_ROOT
OUT=$TMP/wordpress-php
mkdir -p "$OUT"
STEP_MARKS=$OUT/steps
trap 'stop_client; cleanup' EXIT

# The packages each update brings: PHP's (those of the tree built from
# php8.2) and WordPress's.
of_source() {
	dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${Package} ${source:Package}\n' |
		awk -v s="$1" '$2 == s { print $1 }' | tr '\n' ' '
}
# The version of package $2 installed in world $1 ("" when not "ii").
installed() {
	wexec "$1" dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$2" 2>/dev/null |
		sed -n 's/^ii *//p'
}
# The version of package $1 in the updates' repository $2.
offered() {
	sed -n "/^Package: $1\$/,/^\$/s/^Version: //p" "$UPD/$2/Packages"
}

# The blog's front page at $1 (HOST:PORT), headers and body in $OUT/page.$2.
fetch_page() {
	curl -s -m 20 -D "$OUT/page.$2.head" -o "$OUT/page.$2" -H 'Host: localhost' \
		-w '%{http_code} %{size_download}\n' "http://$1/" >"$OUT/page.$2.code" &&
	read -r code size <"$OUT/page.$2.code" &&
	echo "http://$1/: HTTP $code, $size bytes, $(grep -i '^x-php-version' "$OUT/page.$2.head" | tr -d '\r'), $(grep -o '<meta name="generator" content="[^"]*"' "$OUT/page.$2"), $(grep -o 'Paper post [0-9]*<' "$OUT/page.$2" | head -n 3 | tr '\n' ' ')" &&
	test "$code" = 200
}
# The page $2 shows the blog at WordPress $3 and PHP $4: the title, the
# newest post, the version of each.
check_page() {
	grep -q "<title>.*pwapt paper blog" "$OUT/page.$2" &&
	grep -q "Paper post $POSTS<" "$OUT/page.$2" &&
	grep -q "<meta name=\"generator\" content=\"WordPress $3\"" "$OUT/page.$2" &&
	grep -qi "^x-php-version: $4" "$OUT/page.$2.head" || {
		echo "$1: not the blog at WordPress $3 and PHP $4:"
		tr -d '\r' <"$OUT/page.$2.head"
		head -c 2000 "$OUT/page.$2"
		return 1
	}
}
# The upstream version of a package version: 6.1.9+dfsg1-... is 6.1.9,
# 8.2.36-1~deb12u1 is 8.2.36, +pwapt1 kept as -pwapt1 (prepare.sh).
upstream() {
	case $1 in
	*+pwapt1) echo "$(echo "$1" | sed 's/^[0-9]*://; s/[+-].*//')-pwapt1" ;;
	*) echo "$1" | sed 's/^[0-9]*://; s/[+-].*//' ;;
	esac
}

# timed NAME CMD [ARG...]: runs CMD; with PWAPT_PAPER_TIMES set (make
# paper), appends "time|NAME|SECONDS" to that file (the paper's Table III).
timed() {
	_timed_name=$1
	shift
	_timed_t0=$(date +%s.%N)
	"$@"
	_timed_rc=$?
	[ -z "${PWAPT_PAPER_TIMES:-}" ] ||
		echo "time|$_timed_name|$(awk -v a="$_timed_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')" \
			>>"$PWAPT_PAPER_TIMES"
	return $_timed_rc
}
# With PWAPT_PAPER_TIMES set, appends "layer|WORLD|FILES|BYTES" for each
# world $@: the files (not directories) of its layers and their bytes (the
# paper's Table IV).
layer_sizes() {
	[ -n "${PWAPT_PAPER_TIMES:-}" ] || return 0
	for _w; do
		find "$PWAPT_STATE/worlds/$_w/upper" "$PWAPT_STATE/worlds/$_w/fs" \
			! -type d -printf '%s\n' 2>/dev/null |
			awk -v w="$_w" '{ n++; b += $1 } END { printf "layer|%s|%d|%d\n", w, n, b }' \
			>>"$PWAPT_PAPER_TIMES"
	done
}

# apache2's init script in world $1 (its lock directory first: the tree
# has no init system to make /run/lock).
start_apache() {
	wexec "$1" sh -c "mkdir -p /run/lock && /etc/init.d/apache2 start" </dev/null
}

# A client of Root's blog during the merges: a request every 0.2 s, each
# line of $OUT/client "TIME ok" or "TIME fail CODE" (curl's: 000 is no
# answer; an HTTP 200 without the blog's title and newest post, e.g. a
# page that cannot reach the database, is a failure too); client_report
# says how many failed in which step.
start_client() {
	sh -c 'while :; do
		code=$(curl -s -m 10 -o "$2.page" -w "%{http_code}" -H "Host: localhost" "http://$1/")
		if [ "$code" = 200 ] && grep -q "<title>.*pwapt paper blog" "$2.page" &&
			grep -q "Paper post $3<" "$2.page"; then
			r=ok
		else
			r="fail $code"
		fi
		echo "$(date +%s.%N) $r"
		sleep 0.2
	done' - "$1" "$OUT/client" "$POSTS" >"$OUT/client" 2>&1 &
	echo $! >"$OUT/client.pid"
	note_pid $!
}
client_report() {
	sort -n "$STEP_MARKS" "$OUT/client" | awk '
		$2 ~ /^[0-9]+$/ { s = $0; sub(/^[^ ]+ /, "", s); next }
		$2 == "fail" { n[s]++; if (!(s in o)) o[s] = ++k }
		END { for (x in o) printf "  %d failed during step %s\n", n[x], x }'
}
stop_client() {
	[ ! -f "$OUT/client.pid" ] || kill "$(cat "$OUT/client.pid")" 2>/dev/null
	rm -f "$OUT/client.pid"
}

step 'the Debian tree and the updates (fetched once by prepare.sh, cached)' '
	"$here/prepare.sh" >"$OUT/paths" &&
	UPD=$(sed -n 2p "$OUT/paths") && test -d "$UPD/php" && test -d "$UPD/wordpress" &&
	echo "updates in $UPD: php $(cat "$UPD/php/how"), wordpress $(cat "$UPD/wordpress/how")"
'
UPD=$(sed -n 2p "$OUT/paths")
PHP_PKGS=$(of_source php8.2)
WP_PKGS=$(of_source wordpress)
echo "# PHP's packages: $PHP_PKGS"
echo "# WordPress's packages: $WP_PKGS"

step 'Root: Debian bookworm with apache2, PHP, MariaDB and WordPress; the updates offered by apt' '
	for p in apache2 libapache2-mod-php8.2 mariadb-server wordpress; do
		v=$(installed Root $p) && test -n "$v" && echo "Root: $p $v" || exit 1
	done &&
	mkdir -p "$R/srv/pwapt-paper" &&
	cp -a "$UPD/php" "$UPD/wordpress" "$R/srv/pwapt-paper/" &&
	rm -f "$R/etc/apt/sources.list.d/"* &&
	printf "deb [trusted=yes] file:/srv/pwapt-paper/%s ./\n" wordpress php >"$R/etc/apt/sources.list" &&
	wexec Root apt-get update -qq </dev/null &&
	for p in $WP_PKGS; do
		test "$(wexec Root apt-cache policy $p | sed -n "s/^ *Candidate: //p")" = "$(offered $p wordpress)" || exit 1
	done &&
	for p in $PHP_PKGS; do
		test "$(wexec Root apt-cache policy $p | sed -n "s/^ *Candidate: //p")" = "$(offered $p php)" || exit 1
	done &&
	echo "offered: wordpress $(offered wordpress wordpress), libapache2-mod-php8.2 $(offered libapache2-mod-php8.2 php)"
'
WP_OLD=$(installed Root wordpress)
WP_NEW=$(offered wordpress wordpress)
PHP_OLD=$(installed Root libapache2-mod-php8.2)
PHP_NEW=$(offered libapache2-mod-php8.2 php)

# WordPress reaches its database as pwapt-db over TCP, Root's address in
# Root's /etc/hosts: so does the stand-in of `wmerge --handover` (a child
# world of Root, with a network and a /run of its own, where neither
# localhost nor mysqld's socket is Root's), and Root's MariaDB, which no
# merge touches, serves both.  WPTest maps pwapt-db to its own copy.
step 'Root runs MariaDB with the blog'"'"'s database and user, at pwapt-db (Root'"'"'s address)' '
	ROOT_IP=$(net_field Root address) && echo "Root: $ROOT_IP" &&
	echo "$ROOT_IP pwapt-db" >>"$R/etc/hosts" &&
	printf "[mysqld]\nbind-address = 0.0.0.0\n" >"$R/etc/mysql/mariadb.conf.d/90-pwapt-example.cnf" &&
	wexec Root /etc/init.d/mariadb start </dev/null &&
	wexec Root mysql -e "CREATE DATABASE wordpress; CREATE USER wordpress@\"%\" IDENTIFIED BY \"pwapt-example\"; GRANT ALL ON wordpress.* TO wordpress@\"%\";" &&
	test_equal wordpress "$(wexec Root mysql -N -e "SHOW DATABASES LIKE \"wordpress\"")" &&
	test_equal wordpress "$(wexec Root mysql -h pwapt-db -u wordpress -ppwapt-example -N -e "SHOW DATABASES LIKE \"wordpress\"")"
'
ROOT_IP=$(net_field Root address)

step 'WordPress installed without a browser (its installer through php-cli)' '
	cat >"$R/etc/wordpress/config-default.php" <<-\EOT &&
	<?php
	define("DB_NAME", "wordpress");
	define("DB_USER", "wordpress");
	define("DB_PASSWORD", "pwapt-example");
	define("DB_HOST", "pwapt-db");
	define("WP_HOME", "http://localhost");
	define("WP_SITEURL", "http://localhost");
	define("DISABLE_WP_CRON", true);
	define("AUTOMATIC_UPDATER_DISABLED", true);
	$table_prefix = "wp_";
	EOT
	cat >"$R/root/install-wordpress.php" <<-\EOT &&
	<?php
	$_SERVER["HTTP_HOST"] = "localhost";
	define("WP_INSTALLING", true);
	require "/usr/share/wordpress/wp-load.php";
	require_once ABSPATH . "wp-admin/includes/upgrade.php";
	$r = wp_install("pwapt paper blog", "admin", "admin@example.org", true, "", "pwapt-example-password");
	echo "installed: user ", $r["user_id"], ", theme ", get_option("stylesheet"), "\n";
	EOT
	wexec Root php /root/install-wordpress.php </dev/null &&
	test_equal 1 "$(wexec Root mysql -N -e "SELECT COUNT(*) FROM wordpress.wp_users")"
'

step "the blog's $POSTS posts of about 6,500 bytes (SQL)" '
	python3 "$here/posts.py" "$POSTS" >"$R/root/posts.sql" &&
	wexec Root sh -c "mysql wordpress </root/posts.sql" &&
	wexec Root mysql -N -e "SELECT COUNT(*), ROUND(AVG(LENGTH(post_content))) FROM wordpress.wp_posts WHERE post_title LIKE \"Paper post %\" AND post_status = \"publish\"" >"$OUT/count" &&
	cat "$OUT/count" &&
	read -r n avg <"$OUT/count" && test "$n" = "$POSTS" && test "$avg" -ge 6000 && test "$avg" -le 6600
'

step 'Root serves the blog with apache2 and mod_php' '
	cat >"$R/etc/apache2/sites-available/wordpress.conf" <<-\EOT &&
	<VirtualHost *:80>
		ServerName localhost
		DocumentRoot /usr/share/wordpress
		Alias /wp-content /var/lib/wordpress/wp-content
		<Directory /usr/share/wordpress>
			Options FollowSymLinks
			AllowOverride Limit Options FileInfo
			DirectoryIndex index.php
			Require all granted
		</Directory>
		<Directory /var/lib/wordpress/wp-content>
			Options FollowSymLinks
			Require all granted
		</Directory>
	</VirtualHost>
	EOT
	# PHP names its version in a header of every page (Debian turns
	# expose_php off): a must-use plugin of the site, not of a package.
	mkdir -p "$R/var/lib/wordpress/wp-content/mu-plugins" &&
	echo "<?php header(\"X-PHP-Version: \" . PHP_VERSION);" \
		>"$R/var/lib/wordpress/wp-content/mu-plugins/php-version.php" &&
	echo "ServerName localhost" >"$R/etc/apache2/conf-available/servername.conf" &&
	wexec Root a2enconf -q servername && wexec Root a2dissite -q 000-default &&
	wexec Root a2ensite -q wordpress &&
	start_apache Root &&
	wait_for 20 "fetch_page $ROOT_IP:80 root >/dev/null" &&
	fetch_page "$ROOT_IP:80" root &&
	check_page Root root "$(upstream "$WP_OLD")" "$(upstream "$PHP_OLD")"
'
step 'a client of Root'"'"'s blog, a request every 0.2 s from now on' '
	start_client "$ROOT_IP:80" &&
	wait_for 30 "grep -q \" ok\\\$\" \"\$OUT/client\"" || { cat "$OUT/client"; exit 1; }
'

step 'wcreate WPUpdate Root; WordPress upgraded in it, Root untouched' '
	timed "wcreate WPUpdate Root" wcreate WPUpdate Root &&
	wexec WPUpdate env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--only-upgrade -o Dpkg::Options::=--force-confold $WP_PKGS </dev/null &&
	test_equal "$WP_NEW" "$(installed WPUpdate wordpress)" &&
	test_equal "$WP_OLD" "$(installed Root wordpress)"
'

step 'wcreate PHPUpdate Root; PHP upgraded in it, Root untouched' '
	timed "wcreate PHPUpdate Root" wcreate PHPUpdate Root &&
	wexec PHPUpdate env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--only-upgrade -o Dpkg::Options::=--force-confold $PHP_PKGS </dev/null &&
	test_equal "$PHP_NEW" "$(installed PHPUpdate libapache2-mod-php8.2)" &&
	test_equal "$PHP_OLD" "$(installed Root libapache2-mod-php8.2)"
'

step 'wcreate WPTest WPUpdate PHPUpdate: the new WordPress and the new PHP together' '
	timed "wcreate WPTest WPUpdate PHPUpdate" wcreate WPTest WPUpdate PHPUpdate &&
	wexec WPTest grep -q "^\\\$wp_version = .$(upstream "$WP_NEW")." /usr/share/wordpress/wp-includes/version.php &&
	test_equal "$(upstream "$PHP_NEW")" "$(wexec WPTest php -r "echo PHP_VERSION;")"
'

step 'mysqldump in Root, restored in WPTest; mariadb and apache2 started in WPTest (pwapt-db its own)' '
	wexec Root mysqldump --single-transaction --all-databases </dev/null >"$OUT/backup_root.sql" &&
	grep -q "Paper post $POSTS" "$OUT/backup_root.sql" &&
	ls -l "$OUT/backup_root.sql" &&
	wexec WPTest sed -i "s/^.* pwapt-db\$/127.0.0.1 pwapt-db/" /etc/hosts &&
	test_equal "127.0.0.1 pwapt-db" "$(wexec WPTest grep pwapt-db /etc/hosts)" &&
	wexec WPTest /etc/init.d/mariadb start </dev/null &&
	wexec WPTest mysql <"$OUT/backup_root.sql" &&
	test_equal "$POSTS" "$(wexec WPTest mysql -N -e "SELECT COUNT(*) FROM wordpress.wp_posts WHERE post_title LIKE \"Paper post %\"")" &&
	start_apache WPTest
'

step 'wip WPTest forward 80 50080: the blog through the forward, on the new WordPress and PHP' '
	wip WPTest forward 80 50080 &&
	{ wait_for 20 "fetch_page 127.0.0.1:50080 wptest >/dev/null" || {
		fetch_page 127.0.0.1:50080 wptest
		fetch_page "$(net_field WPTest address):80" wptest-direct
		sed -n "/<body/,\$p" "$OUT/page.wptest-direct" | sed "s/<[^>]*>//g" | grep .
		wexec WPTest mysql -N -e "SELECT user, host FROM mysql.user"
		wexec WPTest tail -n 20 /var/log/apache2/error.log
		exit 1
	}; } &&
	fetch_page 127.0.0.1:50080 wptest &&
	check_page WPTest wptest "$(upstream "$WP_NEW")" "$(upstream "$PHP_NEW")" &&
	fetch_page "$ROOT_IP:80" root &&
	check_page Root root "$(upstream "$WP_OLD")" "$(upstream "$PHP_OLD")"
'

# wdiff of world $1 against Root: its output in $OUT/wdiff.$1 (exit 0, or
# 3 for warnings), a count of its lines, and a path it must name.
wdiff_world() {
	timed "wdiff $1 Root" wdiff "$1" Root >"$OUT/wdiff.$1" 2>&1
	rc=$?
	echo "wdiff $1 Root: exit $rc, $(grep -c "^[AMD] " "$OUT/wdiff.$1") paths, $(grep -c "^! " "$OUT/wdiff.$1") warnings; the first lines:"
	head -n 8 "$OUT/wdiff.$1"
	grep "^! " "$OUT/wdiff.$1" | head -n 8
	{ [ $rc = 0 ] || [ $rc = 3 ]; } && grep -q "^[AM] $2\$" "$OUT/wdiff.$1"
}

step 'wdiff WPUpdate Root: WordPress'"'"'s files' '
	wdiff_world WPUpdate /usr/share/wordpress/wp-includes/version.php
'
step 'wdiff PHPUpdate Root: PHP'"'"'s files' '
	wdiff_world PHPUpdate /usr/lib/apache2/modules/libphp8.2.so
'
step 'wdiff WPTest Root: the test world'"'"'s database and logs' '
	wdiff_world WPTest "/var/lib/mysql/wordpress/wp_posts.ibd"
'

step 'wdelete WPTest: its database and logs gone, the forward too' '
	layer_sizes WPUpdate PHPUpdate WPTest &&
	timed "wdelete WPTest" wdelete WPTest &&
	test_lacks "^WPTest " wlist &&
	! curl -s -m 3 -o /dev/null http://127.0.0.1:50080/
'

step 'wmerge WPUpdate Root' '
	timed "wmerge WPUpdate Root" wmerge WPUpdate Root &&
	test_equal "$WP_NEW" "$(installed Root wordpress)"
'

# The paper's last steps (wmerge, then `service apache2 restart`) with no
# downtime: a stand-in world on Root's old files serves port 80 while
# Root's apache2 restarts on the merged ones.  dpkg's
# /var/lib/dpkg/triggers/File, rewritten in Root by the first merge, is
# merged record by record (as dpkg's status): no conflict, no --force.
# The handover first starts apache2 in PHPUpdate (the new PHP must answer
# before Root is touched), whose logs are PHPUpdate's own: checked off, as
# the paper does with a test run's logs.
step 'wmerge --handover 80 PHPUpdate Root: Root'"'"'s apache2 on the new PHP, a stand-in serving meanwhile' '
	check-off PHPUpdate /var/log/apache2 &&
	t0=$(date +%s.%N)
	timed "wmerge --handover 80 PHPUpdate Root" wmerge --handover 80 PHPUpdate Root >"$OUT/merge-php" 2>"$OUT/merge-php.err"; rc=$?
	t1=$(date +%s.%N)
	cat "$OUT/merge-php" "$OUT/merge-php.err"
	awk -v a="$t0" -v b="$t1" '"'"'$1 >= a && $1 <= b { n++; if ($2 == "ok") k++ }
		END { printf "client of Root during the handover: %d requests, %d answered by the blog\n", n, k; exit !(n > 0 && k == n) }'"'"' "$OUT/client" &&
	test $rc = 0 &&
	grep -q "^handover-[0-9]* stands in for Root\.\$" "$OUT/merge-php" "$OUT/merge-php.err" &&
	if grep -q "triggers/File" "$OUT/merge-php" "$OUT/merge-php.err"; then
		echo "dpkg'"'"'s triggers/File named by the merge"; exit 1
	fi &&
	echo "no conflict on /var/lib/dpkg/triggers/File (merged record by record), no --force" &&
	test_lacks "^handover-" wlist &&
	test_equal "$PHP_NEW" "$(installed Root libapache2-mod-php8.2)"
'

step 'the blog in Root, served throughout (no failed request): the new WordPress and PHP' '
	wait_for 20 "fetch_page $ROOT_IP:80 root >/dev/null" &&
	fetch_page "$ROOT_IP:80" root &&
	check_page Root root "$(upstream "$WP_NEW")" "$(upstream "$PHP_NEW")" &&
	sleep 1 && stop_client &&
	total=$(wc -l <"$OUT/client") && failed=$(grep -c " fail" "$OUT/client" || :) &&
	echo "client of Root: $total requests during the merges, $failed failed" &&
	client_report &&
	echo "$total $failed" >"$OUT/client.count" &&
	test "$total" -gt 0 && test "$failed" = 0
'
read -r CLIENT_TOTAL CLIENT_FAILED <"$OUT/client.count" 2>/dev/null

step 'Root'"'"'s packages: the new versions, and dpkg --audit says nothing' '
	for p in $WP_PKGS; do
		test_equal "$(offered $p wordpress)" "$(installed Root $p)" || exit 1
	done &&
	for p in $PHP_PKGS; do
		test_equal "$(offered $p php)" "$(installed Root $p)" || exit 1
	done &&
	test_no_output wexec Root dpkg --audit &&
	wexec Root dpkg-query -W $WP_PKGS $PHP_PKGS
'

# --- The paper's Table V (PWAPT_PAPER_AB=N, `make paper`) ---
# The blog's front page under ab (apache2-utils, on this side, in the
# scenario's network namespace): N requests, 10 at a time, after a warm-up
# of as many (the page cache and PHP's opcache warm), in Root and in a
# child world ABChild of Root that serves the same blog from its own
# apache2 and its own MariaDB (Root's database dumped and restored, as
# WPTest), so that every file it reads comes through the overlay; with
# tracing off and with each backend of PWAPT_PAPER_AB_TRACE (default
# "off bpf audit"): the collector started (pwapt trace start) before the
# measures and stopped after; in PWAPT_PAPER_AB_ROUNDS rounds (default 1)
# of every mode, so that a ratio to Root untraced of the same round
# compares measures taken close together on a machine whose load changes.
# Each measure must answer every request with HTTP 200, and the page must
# be the blog; "ab|WORLD|TRACE|MS|RPS|ROUND" is appended to
# PWAPT_PAPER_TIMES (MS: ab's mean time per request across all concurrent
# requests' lifetimes, the paper's access time; RPS: its requests per
# second).
if [ -n "${PWAPT_PAPER_AB:-}" ]; then
	case $PWAPT_PAPER_AB in *[!0-9]* | 0)
		echo "wordpress-php: PWAPT_PAPER_AB must be a number of requests, not '$PWAPT_PAPER_AB'" >&2
		exit 2 ;;
	esac
	command -v ab >/dev/null || {
		echo "wordpress-php: ab is missing (apt-get install apache2-utils)" >&2
		exit 1
	}
	AB_TRACE=${PWAPT_PAPER_AB_TRACE:-off bpf audit}
	AB_ROUNDS=${PWAPT_PAPER_AB_ROUNDS:-1}
	case $AB_ROUNDS in *[!0-9]* | 0 | '')
		echo "wordpress-php: PWAPT_PAPER_AB_ROUNDS must be a number of rounds, not '$AB_ROUNDS'" >&2
		exit 2 ;;
	esac
	for t in $AB_TRACE; do
		case $t in off | bpf | audit) ;;
		*) echo "wordpress-php: PWAPT_PAPER_AB_TRACE lists off, bpf or audit, not '$t'" >&2
			exit 2 ;;
		esac
	done
	command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin

	# ab_measure WORLD ADDRESS TRACE ROUND: the warm-up, then the measure.
	ab_measure() {
		_ab=$OUT/ab.$1.$3.$4
		ab -l -n "$PWAPT_PAPER_AB" -c 10 -H "Host: localhost" "http://$2/" >"$_ab.warm" 2>&1 &&
		ab -l -n "$PWAPT_PAPER_AB" -c 10 -H "Host: localhost" "http://$2/" >"$_ab" 2>&1 || {
			echo "ab against $1 failed:"; cat "$_ab.warm" "$_ab" 2>/dev/null; return 1
		}
		_ms=$(sed -n "s/^Time per request: *\([0-9.]*\) \[ms\] (mean)\$/\1/p" "$_ab") &&
		_rps=$(sed -n "s/^Requests per second: *\([0-9.]*\) .*/\1/p" "$_ab") &&
		_done=$(sed -n "s/^Complete requests: *//p" "$_ab") &&
		_failed=$(sed -n "s/^Failed requests: *//p" "$_ab") &&
		test -n "$_ms" && test -n "$_rps" &&
		echo "$1, tracing $3, round $4: $_ms ms a request, $_rps requests/s ($_done complete, $_failed failed)" &&
		test "$_done" = "$PWAPT_PAPER_AB" && test "$_failed" = 0 &&
		! grep -q "^Non-2xx responses" "$_ab" || { cat "$_ab"; return 1; }
		[ -z "${PWAPT_PAPER_TIMES:-}" ] || echo "ab|$1|$3|$_ms|$_rps|$4" >>"$PWAPT_PAPER_TIMES"
	}
	# The collector of backend $1 started ("backend: $1" said), or
	# stopped (off).
	ab_collector() {
		[ "$1" = off ] && return 0
		PWAPT_TRACE=$1 pwapt trace start >"$OUT/trace-start.$1" 2>&1 || {
			cat "$OUT/trace-start.$1"; return 1
		}
		cat "$OUT/trace-start.$1"
		grep -q "started the trace collector ($1[,)]" "$OUT/trace-start.$1"
	}
	ab_collector_stop() {
		_pids=$(test_collector_pids)
		[ -n "$_pids" ] || return 0
		kill -TERM $_pids
		wait_for 30 "test -z \"\$(test_collector_pids)\""
	}

	step "Table V: a child world ABChild of Root serving the same blog, its own apache2 and MariaDB" '
		wcreate ABChild Root &&
		wexec Root mysqldump --single-transaction --all-databases </dev/null >"$OUT/backup_ab.sql" &&
		wexec ABChild sed -i "s/^.* pwapt-db\$/127.0.0.1 pwapt-db/" /etc/hosts &&
		test_equal "127.0.0.1 pwapt-db" "$(wexec ABChild grep pwapt-db /etc/hosts)" &&
		wexec ABChild /etc/init.d/mariadb start </dev/null &&
		wexec ABChild mysql <"$OUT/backup_ab.sql" &&
		start_apache ABChild &&
		CHILD_IP=$(net_field ABChild address) && echo "ABChild: $CHILD_IP" &&
		wait_for 20 "fetch_page $CHILD_IP:80 abchild >/dev/null" &&
		fetch_page "$CHILD_IP:80" abchild &&
		check_page ABChild abchild "$(upstream "$WP_NEW")" "$(upstream "$PHP_NEW")" &&
		fetch_page "$ROOT_IP:80" root &&
		check_page Root root "$(upstream "$WP_NEW")" "$(upstream "$PHP_NEW")"
	'
	CHILD_IP=$(net_field ABChild address)
	r=1
	while [ $r -le "$AB_ROUNDS" ]; do
		for t in $AB_TRACE; do
			step "Table V, round $r of $AB_ROUNDS: ab -n $PWAPT_PAPER_AB -c 10 against the front page in Root and in ABChild, tracing $t" '
				ab_collector $t &&
				ab_measure Root "$ROOT_IP:80" $t $r &&
				ab_measure ABChild "$CHILD_IP:80" $t $r &&
				if [ $t != off ]; then
					test -e "$PWAPT_STATE/worlds/ABChild/trace" &&
					echo "ABChild traced: $(trace_entries ABChild | wc -l) accesses in its table" &&
					ab_collector_stop
				fi
			'
		done
		r=$((r + 1))
	done
fi

scenario_done "wordpress-php ($POSTS posts; client of Root: ${CLIENT_FAILED:-?} of ${CLIENT_TOTAL:-?} requests failed during the merges)"
