#!/bin/sh
# What examples/wordpress-php/run.sh needs from the network, fetched once
# and cached under $PWAPT_CACHE (default /var/cache/pwapt): the Debian
# bookworm tree with apache2, libapache2-mod-php, mariadb-server,
# wordpress and its default theme (the file "packages" beside this script:
# tests/fixtures/debian-tree.sh's PWAPT_TREE_EXTRA), and two flat
# apt repositories of the updates (apt-ftparchive, as
# tests/fixtures/apt-repo.sh makes the tests' one):
#
#   DIR/php        the tree's php8.2 packages at the newest version of
#                  bookworm, bookworm-updates and bookworm-security, with
#                  what they need upgraded along
#   DIR/wordpress  the same for wordpress
#
# A source with nothing newer there (the tree's bookworm point release may
# already carry the last security update) gets a package this script
# builds from the tree's version: the same .deb, its version +pwapt1 and
# "(pwapt example update)" appended to a few files the paper's wdiff shows
# and $wp_version +pwapt1 (wordpress: the blog's pages name the version), so
# that an upgrade changes files.
# DIR/SOURCE/how says which ("debian VERSION" or "rebuilt VERSION").
#
# Prints the tree's path and DIR, one a line.  Without the network, says
# what it could not fetch and exits non-zero.
set -eu
self=$(readlink -f "$0")
src=$(cd "$(dirname "$self")/../.." && pwd)
. "$src/tools/retry.sh"
# The tree's packages beyond minbase (run.sh reads the same file).
PWAPT_TREE_EXTRA=$(cat "$(dirname "$self")/packages")
export PWAPT_TREE_EXTRA
mirror=${PWAPT_MIRROR:-http://deb.debian.org/debian}
security=${PWAPT_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
cache=${PWAPT_CACHE:-/var/cache/pwapt}

tree=$("$src/tests/fixtures/debian-tree.sh") || {
	echo "wordpress-php: could not fetch the Debian tree (debootstrap from $mirror; why: above)" >&2
	exit 1
}
# A new recipe (this script) or a new tree: new updates.
key=$({ cat "$self"; echo "$tree"; } | sha256sum | cut -c1-12)
dir=$cache/paper-updates-$key
if [ -f "$dir/.complete" ]; then
	printf '%s\n%s\n' "$tree" "$dir"
	exit 0
fi
for tool in apt-get apt-ftparchive dpkg-deb; do
	command -v $tool >/dev/null || {
		echo "wordpress-php: $tool is missing (apt-get install apt-utils dpkg)" >&2
		exit 1
	}
done
mkdir -p "$cache"
exec 9>"$cache/.paper-lock"
flock 9
[ -f "$dir/.complete" ] && { printf '%s\n%s\n' "$tree" "$dir"; exit 0; }
tmp=$cache/.paper-build.$$
rm -rf "$cache"/.paper-build.*
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/apt/lists/partial" "$tmp/apt/cache/archives/partial"
cat >"$tmp/apt/sources.list" <<EOT
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOT
# apt of this machine, on its own lists and the tree's dpkg status: nothing
# of this machine's apt changes.
aptq() {
	apt-get -o Dir::Etc::SourceList="$tmp/apt/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$tmp/apt/lists" \
		-o Dir::Cache="$tmp/apt/cache" -o Dir::State::status="$tree/var/lib/dpkg/status" \
		-o Debug::NoLocking=1 -o APT::Get::List-Cleanup=0 -o APT::Architecture=amd64 "$@"
}
retry "wordpress-php: apt-get update of $mirror and $security" "$tmp/update.log" \
	aptq update || {
	echo "wordpress-php: could not fetch the package lists of bookworm, bookworm-updates and bookworm-security" >&2
	exit 1
}

# The tree's packages built from source $1.
of_source() {
	dpkg-query --admindir="$tree/var/lib/dpkg" -W -f '${Package} ${source:Package}\n' |
		awk -v s="$1" '$2 == s { print $1 }'
}

# Fetches into $tmp/$1/pool what upgrading source $1's packages installs.
fetch_updates() { # SOURCE
	mkdir -p "$tmp/$1/pool"
	# "Inst NAME [OLD] (NEW ...": every package the upgrade installs.
	aptq -s install --only-upgrade $(of_source "$1") 2>/dev/null |
		sed -n 's/^Inst \([^ ]*\) \[[^]]*\] (\([^ ]*\) .*/\1=\2/p' >"$tmp/$1/wanted" || return
	[ -s "$tmp/$1/wanted" ] || return 0
	(cd "$tmp/$1/pool" && retry "wordpress-php: apt-get download ($1)" "$tmp/$1.log" \
		aptq download $(cat "$tmp/$1/wanted")) || {
		echo "wordpress-php: could not fetch $(tr '\n' ' ' <"$tmp/$1/wanted")" >&2
		return 1
	}
	echo "debian $(grep "^$1=\|^$(of_source "$1" | head -n 1)=" "$tmp/$1/wanted" | head -n 1 | cut -d= -f2)" >"$tmp/$1/how"
}

# Rebuilds the tree's version of source $1's packages as VERSION+pwapt1.
rebuild() { # SOURCE FILE...
	s=$1
	shift
	wanted=
	for p in $(of_source "$s"); do
		v=$(dpkg-query --admindir="$tree/var/lib/dpkg" -W -f '${Version}' "$p")
		wanted="$wanted $p=$v"
	done
	(cd "$tmp/$s" && retry "wordpress-php: apt-get download ($s)" "$tmp/$s.log" \
		aptq download $wanted) || {
		echo "wordpress-php: could not fetch$wanted" >&2
		return 1
	}
	for deb in "$tmp/$s"/*.deb; do
		x=$tmp/$s/x
		rm -rf "$x"
		dpkg-deb -R "$deb" "$x"
		v=$(sed -n 's/^Version: //p' "$x/DEBIAN/control")
		sed -i "s/^Version: .*/Version: $v+pwapt1/" "$x/DEBIAN/control"
		for f in "$@"; do
			[ -f "$x$f" ] || continue
			case $f in
			*/wp-includes/version.php) # the version the blog's pages name
				sed -i "s/^\\\$wp_version = '\\([^']*\\)';/\\\$wp_version = '\\1-pwapt1';/" "$x$f" ;;
			*.php) # in its opening line: a file may end in PHP's mode
				sed -i '1s|^<?php$|<?php /* (pwapt example update) */|' "$x$f" ;;
			*.js) printf '\n/* (pwapt example update) */\n' >>"$x$f" ;;
			esac
			(cd "$x" && md5sum "${f#/}") >"$x/md5.new"
			grep -v "  ${f#/}\$" "$x/DEBIAN/md5sums" >"$x/md5.old" || :
			cat "$x/md5.old" "$x/md5.new" >"$x/DEBIAN/md5sums"
			rm "$x/md5.old" "$x/md5.new"
		done
		dpkg-deb --root-owner-group -Zgzip -b "$x" "$tmp/$s/pool/" >/dev/null
		rm -rf "$x" "$deb"
	done
	echo "rebuilt $v+pwapt1" >"$tmp/$s/how"
}

for s in php8.2 wordpress; do
	fetch_updates "$s" || exit 1
	if [ -z "$(ls "$tmp/$s/pool")" ]; then
		echo "wordpress-php: Debian has nothing newer of $s than the tree: rebuilding it as +pwapt1" >&2
		rebuild "$s" /usr/share/wordpress/wp-includes/js/quicktags.js \
			/usr/share/wordpress/wp-includes/class-wp-session-tokens.php \
			/usr/share/wordpress/wp-admin/plugin-install.php \
			/usr/share/wordpress/wp-includes/version.php || exit 1
	fi
	(cd "$tmp/$s" && apt-ftparchive packages pool >Packages 2>/dev/null &&
		apt-ftparchive release . >Release)
done
mv "$tmp/php8.2" "$tmp/php"
rm -rf "$tmp/apt" "$tmp"/*.log "$tmp"/*/wanted
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
printf '%s\n%s\n' "$tree" "$dir"
