#!/bin/sh
# Install the Debian packages certpin needs to build, test and demo.
# Only packages that are missing are installed; apt-get runs only then.
set -eu
PKGS="build-essential cmake ninja-build pkg-config clang libssl-dev openssl libjansson-dev libxml2-dev libxml2-utils curl faketime python3 libcurl4-openssl-dev libmbedtls-dev libwolfssl-dev libgnutls28-dev gnutls-bin libmicrohttpd-dev libsqlite3-dev sqlite3 libpq-dev postgresql chromium iproute2"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "certpin: installing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
