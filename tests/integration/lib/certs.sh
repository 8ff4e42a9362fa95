#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# certs.sh DIR: test certificates for the integration tests (not a peer; contract:
# tests/integration/README.md). Creates in DIR, unless DIR/ca.crt already exists:
#   ca.crt ca.key              a self-signed test CA
#   server.crt server.key      CN=localhost, SAN DNS:localhost, IP:127.0.0.1 (serverAuth)
#   server-noip.crt/.key       CN=localhost, SAN DNS:localhost only: connecting to
#                              127.0.0.1 must fail hostname verification
#   client.crt client.key      CN=device-1 (clientAuth)
#   other-ca.crt other-ca.key  an unrelated CA: verifying the server with it must fail
# Key files are made readable by everyone (0644): brokers may drop privileges. These
# are throw-away test keys, never use them elsewhere.
#
# CI packages (Debian): openssl
set -eu

D=${1:?usage: certs.sh DIR}
mkdir -p "$D"
[ -s "$D/ca.crt" ] && [ -s "$D/server-noip.crt" ] && [ -s "$D/other-ca.crt" ] && exit 0
cd "$D"

quiet() {
	out=$("$@" 2>&1) || { echo "certs.sh: $*: $out" >&2; exit 1; }
}

ca() { # NAME CN
	quiet openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2" \
		-keyout "$1.key" -out "$1.crt"
}

leaf() { # NAME CN EXTENSIONS
	quiet openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$1.key" -out "$1.csr"
	printf '%b' "$3" >"$1.ext"
	quiet openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
		-days 3650 -extfile "$1.ext" -out "$1.crt"
	rm -f "$1.csr" "$1.ext"
}

ca ca "berth test CA"
ca other-ca "berth unrelated CA"
leaf server localhost 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
leaf server-noip localhost 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n'
leaf client device-1 'extendedKeyUsage=clientAuth\n'
chmod 644 ./*.key
