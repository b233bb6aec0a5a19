#!/usr/bin/env bash
# Capture a real smb3fs session on lo with tshark and check that nothing after session setup
# travels outside a transform header, and that no file content appears in the clear.
#
#   bash scripts/capture-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
cargo build --release --quiet
BIN=$PWD/target/release/smb3fs

# shellcheck source=scripts/lib.sh
source scripts/lib.sh
TSHARK_PID=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    if [[ -n $TSHARK_PID ]]; then kill "$TSHARK_PID" 2>/dev/null || true; fi
    smb3fs_private_cleanup
}
trap cleanup EXIT
smb3fs_private_samba smb3fs-capture
ROOT=$SMB3FS_WORK
PORT=$SMB3FS_PORT
CRED=$ROOT/samba/credentials
UNC=//127.0.0.1:$PORT/share

# Known plaintext: random bytes followed by a marker repeated many times.
head -c 3000000 /dev/urandom >"$ROOT/payload"
for _ in $(seq 2000); do printf 'PLAINTEXT-MARKER-'; done >>"$ROOT/payload"

tshark -q -i lo -f "tcp port $PORT" -w "$ROOT/cap.pcap" 2>"$ROOT/tshark.log" &
TSHARK_PID=$!
for _ in $(seq 50); do grep -q "Capturing on" "$ROOT/tshark.log" 2>/dev/null && break; sleep 0.1; done
"$BIN" put "$UNC" -o "credentials=$CRED" "$ROOT/payload" payload
"$BIN" get "$UNC" -o "credentials=$CRED" payload "$ROOT/back"
"$BIN" ls "$UNC" -o "credentials=$CRED" / >/dev/null
cmp "$ROOT/payload" "$ROOT/back"
sleep 1
kill -INT "$TSHARK_PID"
wait "$TSHARK_PID" 2>/dev/null || true
TSHARK_PID=""

# Decode the private port as SMB; list each message's protocol id and command.
tshark -r "$ROOT/cap.pcap" -d "tcp.port==$PORT,nbss" -Y smb2 -T fields -e smb2.protocol_id -e smb2.cmd \
    2>/dev/null >"$ROOT/messages"
echo "messages seen (count, protocol id, command; 0xfd534d42 = transform header):"
sort "$ROOT/messages" | uniq -c
fail=0
# In the clear only NEGOTIATE (0) and SESSION_SETUP (1) may appear.
if awk -F'\t' '$1 == "0xfe534d42" && $2 != "0" && $2 != "1"' "$ROOT/messages" | grep -q .; then
    echo "FAIL: an SMB2 message after session setup travelled outside a transform header"; fail=1
fi
grep -q 0xfd534d42 "$ROOT/messages" || { echo "FAIL: no encrypted message seen"; fail=1; }
if grep -aq "PLAINTEXT-MARKER" "$ROOT/cap.pcap"; then
    echo "FAIL: file content found in the clear"; fail=1
fi
((fail == 0)) && echo "PASS: every message after session setup is sealed; no plaintext of the file on the wire"
exit "$fail"
