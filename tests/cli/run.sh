#!/bin/sh
# run.sh CASE - run one data-driven certpin CLI test case and print PASS/FAIL.
#
# Environment: CERTPIN (the CLI), CERTPIN_TEST_PKI (output of mkpki.sh),
# CERTPIN_TEST_DATA (tests/data), TLS_SERVER (needed by "server:" cases),
# CERTPIN_TLS (optional: run a "certpin check" case with --tls CERTPIN_TLS).
#
# A case file is a list of directives, one per line, "# KEY: VALUE"; other
# lines are ignored.  Shell text (setup, args, commands) sees $PKI, $DATA,
# $TMP (a fresh directory, also the working directory), $PORT and $TLS_ARGS.
#
#   # name: TEXT                   description (optional)
#   # setup: SHELL                 run before the command; all setup lines form
#                                  one script, so variables carry over; the
#                                  helpers below are available
#   # server: CHAIN KEY            start $TLS_SERVER with these files, set $PORT,
#                                  stop it (by PID) when the case ends
#   # args: ARGS                   the command is "$CERTPIN" ARGS, run by sh
#                                  (redirections such as "< FILE" work)
#   # tls: STACK...                run only through these stacks (CERTPIN_TLS,
#                                  default openssl): what the case checks is
#                                  those stacks' behaviour; absent: every one
#   # exit: N                      required exit status (mandatory)
#   # stdout-contains: TEXT        fixed string that must appear in stdout
#   # stdout-not-contains: TEXT    fixed string that must not appear in stdout
#   # stderr-contains: TEXT        likewise for stderr
#   # stderr-not-contains: TEXT
#   # stderr-lines: N              stderr has exactly N lines
#   # stdout-pipe: SHELL           stdout piped into SHELL must exit 0
#   # stdout-contains-output-of: SHELL
#                                  SHELL's output (non-empty) must appear in stdout
#
# Helpers, computing reference pins with the openssl CLI only:
#   spki_pin_cert FILE [PEM|DER]   sha256/B64 of a certificate's SPKI
#   spki_pin_key FILE              sha256/B64 of a private key's public half
#   spki_pin_pub FILE              sha256/B64 of a PEM public key
#   spki_pin_csr FILE              sha256/B64 of a CSR's key
#   spki_hex_cert FILE             the same digest as 64 hex digits
#   cert_pin FILE                  cert-sha256/B64 of a PEM certificate
#   simple_policy HOST PIN...      a schema-1 policy with one host rule
set -u

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	echo "usage: $0 CASE-FILE" >&2
	exit 2
fi
CASE=$1
NAME=$(basename "$CASE" .case)
: "${CERTPIN:?CERTPIN must name the certpin binary}"
: "${CERTPIN_TEST_PKI:?CERTPIN_TEST_PKI must name the test PKI directory}"
PKI=$CERTPIN_TEST_PKI
DATA=${CERTPIN_TEST_DATA:-}
PORT=
SERVER_PID=
TMP=$(mktemp -d "${TMPDIR:-/tmp}/certpin-cli.XXXXXX") || exit 2
export CERTPIN PKI DATA TMP PORT

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

FAILED=0
fail() {
	echo "FAIL: $NAME: $*"
	FAILED=1
}

cat >"$TMP/.helpers.sh" <<'EOF'
_b64() { openssl dgst -sha256 -binary | openssl base64 -A; }
spki_pin_cert() {
	printf 'sha256/%s\n' "$(openssl x509 -inform "${2:-PEM}" -in "$1" -noout -pubkey |
		openssl pkey -pubin -outform DER | _b64)"
}
spki_pin_key() { printf 'sha256/%s\n' "$(openssl pkey -in "$1" -pubout -outform DER | _b64)"; }
spki_pin_pub() { printf 'sha256/%s\n' "$(openssl pkey -pubin -in "$1" -outform DER | _b64)"; }
spki_pin_csr() {
	printf 'sha256/%s\n' "$(openssl req -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | _b64)"
}
spki_hex_cert() {
	openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -r | cut -d' ' -f1
}
cert_pin() { printf 'cert-sha256/%s\n' "$(openssl x509 -in "$1" -outform DER | _b64)"; }
simple_policy() {
	_host=$1
	shift
	printf '{"schema": 1, "hosts": [{"host": "%s", "pins": [' "$_host"
	_sep=
	for _p in "$@"; do
		printf '%s"%s"' "$_sep" "$_p"
		_sep=', '
	done
	printf ']}]}\n'
}
EOF

# ---- parse the case file ------------------------------------------------------
SETUP=
SERVER=
ARGS=
TLS_ONLY=
HAVE_ARGS=0
EXPECT_EXIT=
: >"$TMP/.checks"
while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	"# "[a-z]*:*) ;;
	*) continue ;;
	esac
	rest=${line#\# }
	key=${rest%%:*}
	case $key in
	*[!a-z-]*) continue ;;  # prose that happens to contain a colon
	esac
	value=${rest#*:}
	value=${value# }
	case $key in
	name | note) ;;
	setup) SETUP="$SETUP$value
" ;;
	server) SERVER=$value ;;
	args) ARGS=$value; HAVE_ARGS=1 ;;
	tls) TLS_ONLY=$value ;;
	exit) EXPECT_EXIT=$value ;;
	stdout-contains | stdout-not-contains | stderr-contains | stderr-not-contains | \
	stderr-lines | stdout-pipe | stdout-contains-output-of)
		printf '%s\t%s\n' "$key" "$value" >>"$TMP/.checks" ;;
	*)
		fail "unknown directive '$key'"
		exit 1 ;;
	esac
done <"$CASE"

[ "$HAVE_ARGS" -eq 1 ] || { fail "no '# args:' line"; exit 1; }
# CERTPIN_TLS=STACK: run a "check" case through that stack (certpin check
# --tls STACK); $TLS_ARGS has those options for the case's own commands.
TLS_ARGS=
case " $TLS_ONLY " in
"  " | *" ${CERTPIN_TLS:-openssl} "*) ;;
*) echo "SKIP: $NAME: only for --tls $TLS_ONLY"; exit 77 ;;
esac
if [ -n "${CERTPIN_TLS:-}" ]; then
	case $ARGS in
	"check "*) ;;
	*) fail "CERTPIN_TLS is set but the case does not run certpin check"; exit 1 ;;
	esac
	TLS_ARGS="--tls $CERTPIN_TLS"
	ARGS="$ARGS $TLS_ARGS"
	NAME="$NAME (--tls $CERTPIN_TLS)"
fi
export TLS_ARGS
case $EXPECT_EXIT in
'' | *[!0-9]*) fail "missing or bad '# exit:' line"; exit 1 ;;
esac

cd "$TMP" || exit 2

# ---- setup and server ------------------------------------------------------------
if [ -n "$SETUP" ]; then
	if ! printf '. "%s/.helpers.sh"\nset -e\n%s' "$TMP" "$SETUP" >"$TMP/.setup.sh" ||
	   ! sh "$TMP/.setup.sh" >"$TMP/.setup.out" 2>&1; then
		fail "setup failed"
		sed 's/^/  setup: /' "$TMP/.setup.out"
		exit 1
	fi
fi

if [ -n "$SERVER" ]; then
	: "${TLS_SERVER:?TLS_SERVER must name the tls_server binary}"
	# shellcheck disable=SC2046  # split CHAIN KEY after expanding $PKI
	set -- $(eval "printf '%s\n' $SERVER")
	if [ $# -ne 2 ]; then
		fail "'# server:' needs CHAIN KEY"
		exit 1
	fi
	"$TLS_SERVER" --cert "$1" --key "$2" --timeout 60 >"$TMP/.server.out" 2>"$TMP/.server.err" &
	SERVER_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		PORT=$(head -n 1 "$TMP/.server.out" 2>/dev/null)
		case $PORT in
		'' | *[!0-9]*) PORT= ;;
		*) break ;;
		esac
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$PORT" ]; then
		fail "tls_server did not start"
		sed 's/^/  server: /' "$TMP/.server.err"
		exit 1
	fi
	export PORT
fi

# ---- run the command ----------------------------------------------------------------
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT="timeout 45"
# shellcheck disable=SC2086
$TIMEOUT sh -c "\"\$CERTPIN\" $ARGS" >"$TMP/.stdout" 2>"$TMP/.stderr"
STATUS=$?

if [ "$STATUS" -eq 124 ] && [ -n "$TIMEOUT" ]; then
	fail "command timed out"
elif [ "$STATUS" -gt 128 ]; then
	fail "command died with signal $((STATUS - 128))"
elif [ "$STATUS" -ne "$EXPECT_EXIT" ]; then
	fail "exit status $STATUS, expected $EXPECT_EXIT"
fi

# ---- checks ---------------------------------------------------------------------------
TAB=$(printf '\t')
while IFS="$TAB" read -r key value; do
	case $key in
	stdout-contains)
		grep -qF -e "$value" "$TMP/.stdout" || fail "stdout lacks '$value'" ;;
	stdout-not-contains)
		! grep -qF -e "$value" "$TMP/.stdout" || fail "stdout contains '$value'" ;;
	stderr-contains)
		grep -qF -e "$value" "$TMP/.stderr" || fail "stderr lacks '$value'" ;;
	stderr-not-contains)
		! grep -qF -e "$value" "$TMP/.stderr" || fail "stderr contains '$value'" ;;
	stderr-lines)
		n=$(wc -l <"$TMP/.stderr" | tr -d ' ')
		[ "$n" = "$value" ] || fail "stderr has $n lines, expected $value" ;;
	stdout-pipe)
		sh -c ". \"$TMP/.helpers.sh\"; $value" <"$TMP/.stdout" >"$TMP/.pipe.out" 2>&1 ||
			{ fail "stdout | $value failed"; sed 's/^/  pipe: /' "$TMP/.pipe.out"; } ;;
	stdout-contains-output-of)
		want=$(sh -c ". \"$TMP/.helpers.sh\"; $value" 2>"$TMP/.ref.err")
		if [ -z "$want" ]; then
			fail "reference command '$value' produced nothing"
			sed 's/^/  ref: /' "$TMP/.ref.err"
		else
			grep -qF -e "$want" "$TMP/.stdout" || fail "stdout lacks '$want' (from $value)"
		fi ;;
	esac
done <"$TMP/.checks"

if [ "$FAILED" -ne 0 ]; then
	echo "--- command: certpin $ARGS"
	echo "--- stdout:"
	cat "$TMP/.stdout"
	echo "--- stderr:"
	cat "$TMP/.stderr"
	exit 1
fi
echo "PASS: $NAME"
exit 0
