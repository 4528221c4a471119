#!/usr/bin/env bash
# Builds the Debian packages of gearmand from this workspace with plain dpkg-deb (no debhelper,
# no cargo-deb):
#   gearmand                      /usr/sbin/gearmand, the gear protocol plugin, the systemd unit,
#                                 /etc/gearmand/gearmand.toml (conffile), man page, completions
#   gearmand-plugin-NAME          one plugin in /usr/lib/gearmand: sqlite postgres mysql redis
#                                 memcached tokyocabinet http
#
# Usage: contrib/debian/build.sh [OUT_DIR]     (default: target/debian)
# Environment:
#   GEARMAND_DEB_TARGET_DIR  where cargo builds (default target/packaging: a directory of its
#                      own, since GEARMAND_PLUGIN_DIR is compiled into the binary and must not
#                      flip the normal target/release build back and forth)
#   DEB_REVISION       Debian revision appended to the crate version (default 1)
#   DEBEMAIL, DEBFULLNAME  the Maintainer field
#
# The host is built with GEARMAND_PLUGIN_DIR=/usr/lib/gearmand, so the installed server finds
# the plugins installed by the plugin packages. Depends are computed by dpkg-shlibdeps from the
# ELF files themselves (libc6 and libgcc-s1: the database clients are compiled in), each plugin
# gets gearmand (= version), and a plugin that opens a system library at run time gets that
# library's package from PLUGIN_DEPENDS below (dpkg-shlibdeps cannot see a dlopen).
# Prints the paths of the .deb files, one per line, on stdout; everything else goes to stderr.
set -euo pipefail
umask 022

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/target/debian}" && cd "${1:-$ROOT/target/debian}" && pwd)
export CARGO_TARGET_DIR=${GEARMAND_DEB_TARGET_DIR:-$ROOT/target/packaging}
PLUGIN_DIR=/usr/lib/gearmand
REVISION=${DEB_REVISION:-1}
MAINTAINER="${DEBFULLNAME:-gearmand developers} <${DEBEMAIL:-gearmand@localhost}>"
ARCH=$(dpkg --print-architecture)

# plugin name, kind (file prefix), cargo package, one-line description
PLUGINS=(
    "sqlite queue gearmand-queue-sqlite SQLite persistent queue (bundled SQLite)"
    "postgres queue gearmand-queue-postgres PostgreSQL persistent queue"
    "mysql queue gearmand-queue-mysql MySQL/MariaDB persistent queue"
    "redis queue gearmand-queue-redis Redis persistent queue"
    "memcached queue gearmand-queue-memcached memcached persistent queue"
    "tokyocabinet queue gearmand-queue-tokyocabinet Tokyo Cabinet file persistent queue"
    "http protocol gearmand-protocol-http HTTP protocol (submit jobs and watch the server over HTTP)"
)

# Libraries a plugin opens with dlopen, so no ELF file names them: the package that provides
# each. tokyocabinet opens libtokyocabinet.so.9; 1.4.47 is the version Debian's symbols file
# gives every tc* function it resolves (what dpkg-shlibdeps said when the plugin linked it).
declare -A PLUGIN_DEPENDS=(
    [tokyocabinet]="libtokyocabinet9 (>= 1.4.47)"
)

say() { printf '== %s\n' "$*" >&2; }

build() {
    local args=(-p gearmand -p gearmand-protocol-gear -p gearmand-docgen)
    local p
    for p in "${PLUGINS[@]}"; do
        set -- $p
        args+=(-p "$3")
    done
    say "cargo build --release (target dir $CARGO_TARGET_DIR, GEARMAND_PLUGIN_DIR=$PLUGIN_DIR)"
    (cd "$ROOT" && GEARMAND_PLUGIN_DIR=$PLUGIN_DIR cargo build --release "${args[@]}" >&2)
}

REL=$CARGO_TARGET_DIR/release
WORK=$OUT/work
build
VERSION=$("$REL/gearmand" --version | awk '/^gearmand /{print $2}')
[ -n "$VERSION" ] || { echo "cannot read the version of $REL/gearmand" >&2; exit 1; }
DEBVER=$VERSION-$REVISION
say "version $DEBVER, architecture $ARCH"

rm -rf "$WORK"
mkdir -p "$WORK/debian" "$WORK/plugins" "$WORK/docs"
# dpkg-shlibdeps wants a debian/control naming the packages whose trees are in debian/<pkg>/.
{
    printf 'Source: gearmand\n\nPackage: gearmand\nArchitecture: any\n'
    for p in "${PLUGINS[@]}"; do
        set -- $p
        printf '\nPackage: gearmand-plugin-%s\nArchitecture: any\n' "$1"
    done
} >"$WORK/debian/control"

# Stripped copies (the release profile keeps line tables for backtraces; packages need none).
install_elf() { install -D -m "$3" "$1" "$2" && strip --strip-unneeded "$2"; }

plugin_file() { echo "libgearmand_${2}_${1}.so"; }

# Every shipped plugin in one directory, for the documentation.
install_elf "$REL/$(plugin_file gear protocol)" "$WORK/plugins/$(plugin_file gear protocol)" 0644
for p in "${PLUGINS[@]}"; do
    set -- $p
    install_elf "$REL/$(plugin_file "$1" "$2")" "$WORK/plugins/$(plugin_file "$1" "$2")" 0644
done
say "man page and completions"
"$REL/gearmand-docgen" --plugin-dir "$WORK/plugins" --out "$WORK/docs" >/dev/null

copyright() {
    install -d "$1/usr/share/doc/$2"
    cat >"$1/usr/share/doc/$2/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: gearmand (Rust)
Comment: A Rust reimplementation of the Gearman job server; built with contrib/debian/build.sh.

Files: *
Copyright: the gearmand developers
License: BSD-3-Clause
 On Debian systems the full text of the license is in
 /usr/share/common-licenses/BSD.
COPYRIGHT
}

# Depends of the ELF files in package tree $1, from dpkg-shlibdeps.
shlibs() {
    local f args=()
    while IFS= read -r f; do
        [ "$(head -c4 "$WORK/debian/$1/$f" | od -An -c | tr -d ' ')" = '177ELF' ] &&
            args+=("-edebian/$1/$f")
    done < <(find "$WORK/debian/$1" -path "$WORK/debian/$1/DEBIAN" -prune -o -type f -printf '%P\n' | sort)
    (cd "$WORK" && dpkg-shlibdeps -O "${args[@]}") | sed -n 's/^shlibs:Depends=//p'
}

# Writes DEBIAN/control (fields in $2, Depends prefix $3), DEBIAN/md5sums, builds the .deb.
finish() {
    local pkg=$1 fields=$2 extra_depends=$3 root=$WORK/debian/$1 depends size
    # dpkg-shlibdeps recognises a package tree by its DEBIAN directory.
    install -d "$root/DEBIAN"
    depends=$(shlibs "$pkg")
    [ -n "$extra_depends" ] && depends="$depends, $extra_depends"
    size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    {
        printf 'Package: %s\nVersion: %s\nArchitecture: %s\n' "$pkg" "$DEBVER" "$ARCH"
        printf 'Maintainer: %s\nInstalled-Size: %s\nDepends: %s\n' "$MAINTAINER" "$size" "$depends"
        printf '%s\n' "$fields"
    } >"$root/DEBIAN/control"
    (cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z |
        xargs -0 md5sum >DEBIAN/md5sums)
    local deb=$OUT/${pkg}_${DEBVER}_${ARCH}.deb
    dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
    echo "$deb"
}

package_gearmand() {
    local root=$WORK/debian/gearmand
    say "gearmand"
    install_elf "$REL/gearmand" "$root/usr/sbin/gearmand" 0755
    install -D -m 0644 "$WORK/plugins/$(plugin_file gear protocol)" \
        "$root$PLUGIN_DIR/$(plugin_file gear protocol)"
    install -D -m 0644 "$ROOT/contrib/systemd/gearmand.service" \
        "$root/usr/lib/systemd/system/gearmand.service"
    install -D -m 0644 "$ROOT/contrib/gearmand.toml" "$root/etc/gearmand/gearmand.toml"
    install -d "$root/usr/share/man/man8"
    gzip -9n <"$WORK/docs/man/gearmand.8" >"$root/usr/share/man/man8/gearmand.8.gz"
    install -D -m 0644 "$WORK/docs/bash/gearmand" "$root/usr/share/bash-completion/completions/gearmand"
    install -D -m 0644 "$WORK/docs/zsh/_gearmand" "$root/usr/share/zsh/vendor-completions/_gearmand"
    install -D -m 0644 "$WORK/docs/fish/gearmand.fish" \
        "$root/usr/share/fish/vendor_completions.d/gearmand.fish"
    copyright "$root" gearmand
    install -d "$root/DEBIAN"
    echo /etc/gearmand/gearmand.toml >"$root/DEBIAN/conffiles"
    local s
    for s in postinst prerm postrm; do
        install -m 0755 "$ROOT/contrib/debian/gearmand.$s" "$root/DEBIAN/$s"
    done
    local suggests
    suggests=$(for p in "${PLUGINS[@]}"; do set -- $p; printf 'gearmand-plugin-%s, ' "$1"; done)
    finish gearmand "Section: net
Priority: optional
Suggests: ${suggests%, }
Conflicts: gearman-job-server
Replaces: gearman-job-server
Provides: gearman-job-server
Description: Gearman job server with plugin protocols and queues
 A drop-in replacement for gearmand 1.1, the Gearman job server: clients
 submit jobs, workers run them, the server queues and dispatches them. This
 package has the server, the Gear protocol, a systemd unit (Type=notify,
 sandboxed) and the in-memory queue; persistent queues and the HTTP protocol
 come in the gearmand-plugin-* packages." passwd
}

package_plugin() {
    local name=$1 kind=$2 desc=$3 pkg=gearmand-plugin-$1 file
    file=$(plugin_file "$name" "$kind")
    say "$pkg"
    install -D -m 0644 "$WORK/plugins/$file" "$WORK/debian/$pkg$PLUGIN_DIR/$file"
    copyright "$WORK/debian/$pkg" "$pkg"
    local select="queue-type = \"$name\" (-q $name)"
    [ "$kind" = protocol ] && select="protocol = [\"$name\"] (-r $name)"
    finish "$pkg" "Section: net
Priority: optional
Enhances: gearmand
Description: gearmand plugin: $desc
 The $name $kind plugin of gearmand, installed into $PLUGIN_DIR. Select it
 with $select in /etc/gearmand/gearmand.toml
 and restart gearmand; its options are listed in gearmand(8)." \
        "gearmand (= $DEBVER)${PLUGIN_DEPENDS[$name]:+, ${PLUGIN_DEPENDS[$name]}}"
}

package_gearmand
for p in "${PLUGINS[@]}"; do
    set -- $p
    name=$1 kind=$2
    shift 3
    package_plugin "$name" "$kind" "$*"
done
