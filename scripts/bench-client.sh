#!/usr/bin/env bash
# Benchmark: `smb3fs get/put` against `smbclient get/put` of the same file, in one run, against
# the same private encrypted Samba. Prints medians of 3 runs and the ratio smbclient/smb3fs
# (> 1.0 means smb3fs is faster).
#
#   bash scripts/bench-client.sh            # 256 MiB
#   BENCH_SIZE_MB=64 bash scripts/bench-client.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/deps.sh
source scripts/deps.sh

SIZE_MB=${BENCH_SIZE_MB:-256}
RUNS=3
cargo build --release --quiet
BIN=$PWD/target/release/smb3fs

# shellcheck source=scripts/lib.sh
source scripts/lib.sh
trap smb3fs_private_cleanup EXIT
smb3fs_private_samba smb3fs-bench-client
ROOT=$SMB3FS_WORK
PORT=$SMB3FS_PORT
CRED=$ROOT/samba/credentials
SHARE=$ROOT/samba/share
UNC=//127.0.0.1:$PORT/share

head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$ROOT/src.bin"
cp "$ROOT/src.bin" "$SHARE/big.bin"
chown smb3fs-test "$SHARE/big.bin"

smbc() { smbclient //127.0.0.1/share -p "$PORT" -A "$CRED" -m SMB3_11 --client-protection=encrypt -c "$1" >/dev/null 2>&1; }
# Seconds taken by a command, as a decimal.
timed() { local s e; s=$(date +%s%N); "$@"; e=$(date +%s%N); echo "scale=3; ($e - $s) / 1000000000" | bc; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }

declare -a g_ours g_peer p_ours p_peer
for _ in $(seq $RUNS); do
    g_ours+=("$(timed "$BIN" get "$UNC" -o "credentials=$CRED" big.bin "$ROOT/down.bin")")
    cmp -s "$ROOT/src.bin" "$ROOT/down.bin" || { echo "bench: smb3fs get returned different bytes" >&2; exit 1; }
    g_peer+=("$(timed smbc "get big.bin $ROOT/down2.bin")")
    p_ours+=("$(timed "$BIN" put "$UNC" -o "credentials=$CRED" "$ROOT/src.bin" up.bin)")
    cmp -s "$ROOT/src.bin" "$SHARE/up.bin" || { echo "bench: smb3fs put stored different bytes" >&2; exit 1; }
    p_peer+=("$(timed smbc "put $ROOT/src.bin up2.bin")")
    rm -f "$ROOT/down.bin" "$ROOT/down2.bin"
done

row() {
    local name=$1 ours=$2 peer=$3
    printf '%-6s %8s MiB  smb3fs %7.3f s (%6.0f MB/s)  smbclient %7.3f s (%6.0f MB/s)  ratio %.2fx\n' \
        "$name" "$SIZE_MB" "$ours" "$(echo "$SIZE_MB * 1.048576 / $ours" | bc -l)" \
        "$peer" "$(echo "$SIZE_MB * 1.048576 / $peer" | bc -l)" "$(echo "$peer / $ours" | bc -l)"
}
echo "medians of $RUNS runs, encrypted SMB 3.1.1 on 127.0.0.1 (ratio = smbclient time / smb3fs time)"
row get "$(median "${g_ours[@]}")" "$(median "${g_peer[@]}")"
row put "$(median "${p_ours[@]}")" "$(median "${p_peer[@]}")"
