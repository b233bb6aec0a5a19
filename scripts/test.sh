#!/usr/bin/env bash
# Build and run the whole smb3fs test suite against a private Samba server.
#
#   bash scripts/test.sh                   # everything
#   bash scripts/test.sh -- --nocapture    # extra args go to `cargo test --release`
#   bash scripts/test.sh some_test_name    # cargo test name filter
#
# Installs missing packages (scripts/deps.sh), starts smbd (scripts/samba.sh) in
# a fresh temp dir on a free random port, exports SMB3FS_TEST_* for the tests,
# runs `cargo test --release` (one invocation: build + run), and on any exit
# unmounts leftover FUSE mounts, stops smbd and removes the temp dir.
# The exit code is cargo's.
#
# Environment:
#   SMB3FS_KEEP_TEST_DIR=1   keep the temp dir (smbd logs, share contents)
set -euo pipefail

cd "$(dirname "$0")/.."
REPO_ROOT=$(pwd -P)

# shellcheck source=scripts/deps.sh
source scripts/deps.sh

START_TIME=$SECONDS
TEST_ROOT=""
SAMBA_DIR=""
PORT=""
CARGO_PID=""

# shellcheck disable=SC2317  # called from the EXIT trap only
unmount_leftovers() {
    local root=$1 _dev mnt _rest
    # Deepest first, so nested mounts come off before their parents.
    while read -r _dev mnt _rest; do
        mnt=$(printf '%b' "$mnt")   # undo /proc/mounts octal escapes (\040)
        if [[ $mnt == "$root"/* ]]; then echo "$mnt"; fi
    done </proc/self/mounts | sort -r | while read -r mnt; do
        echo "test.sh: unmounting leftover mount $mnt" >&2
        fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null ||
            umount -l "$mnt" 2>/dev/null || echo "test.sh: could not unmount $mnt" >&2
    done
}

# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if [[ -n $CARGO_PID ]] && kill -0 "$CARGO_PID" 2>/dev/null; then
        echo "test.sh: stopping cargo (pid $CARGO_PID)" >&2
        kill -TERM -- "-$CARGO_PID" 2>/dev/null || kill -TERM "$CARGO_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 -- "-$CARGO_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL -- "-$CARGO_PID" 2>/dev/null
        wait "$CARGO_PID" 2>/dev/null
    fi
    if [[ -n $TEST_ROOT && -d $TEST_ROOT ]]; then
        unmount_leftovers "$TEST_ROOT"
        if [[ -n $SAMBA_DIR && -d $SAMBA_DIR ]]; then
            if ((rc != 0)) && [[ -f $SAMBA_DIR/smbd.log ]]; then
                echo "test.sh: --- last lines of $SAMBA_DIR/smbd.log ---" >&2
                tail -n 20 "$SAMBA_DIR/smbd.log" >&2
            fi
            bash "$REPO_ROOT/scripts/samba.sh" stop "$SAMBA_DIR"
        fi
        if [[ ${SMB3FS_KEEP_TEST_DIR:-0} == 1 ]]; then
            echo "test.sh: kept $TEST_ROOT" >&2
        else
            rm -rf "$TEST_ROOT"
        fi
    fi
    local secs=$((SECONDS - START_TIME))
    if ((rc == 0)); then
        echo "test.sh: PASS (cargo test exit 0, ${secs}s, smbd 127.0.0.1:${PORT:-?})"
    else
        echo "test.sh: FAIL (exit $rc, ${secs}s, smbd 127.0.0.1:${PORT:-?})"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TEST_ROOT=$(mktemp -d /tmp/smb3fs-test.XXXXXX)
chmod 0755 "$TEST_ROOT"            # smbd's test user must reach the share below it
SAMBA_DIR=$TEST_ROOT/samba
mkdir -p "$TEST_ROOT/tmp"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Random port in 20000-40000; retry when busy (or lost a race with another run).
started=0
for _attempt in 1 2 3 4 5 6 7 8 9 10; do
    PORT=$((20000 + RANDOM % 20001))
    port_free "$PORT" || continue
    if bash scripts/samba.sh start "$SAMBA_DIR" "$PORT"; then
        started=1
        break
    fi
    bash scripts/samba.sh stop "$SAMBA_DIR" >/dev/null 2>&1 || true
done
((started)) || { echo "test.sh: could not start smbd" >&2; exit 1; }

# shellcheck source=/dev/null
source "$SAMBA_DIR/env"
export SMB3FS_TEST_SAMBA_DIR=$SAMBA_DIR
# Scratch space for tests (mount points etc.); cleaned up with the rest.
export SMB3FS_TEST_TMPDIR=$TEST_ROOT/tmp

# --no-fail-fast: one failing test binary does not hide the results of the others.
cargo_args=(test --release --no-fail-fast)
if [[ -n ${CI:-} ]]; then cargo_args+=(--locked); fi

echo "test.sh: cargo ${cargo_args[*]} $* (smbd on 127.0.0.1:$PORT, dir $SAMBA_DIR)"
# cargo runs in the background and we `wait`, so a TERM/INT to this script is
# handled at once (the trap stops cargo, then cleans up) instead of after cargo.
rc=0
# set -m: cargo gets its own process group, so the trap can stop the test
# binaries it spawned too, not only cargo.
set -m
cargo "${cargo_args[@]}" "$@" </dev/null &
CARGO_PID=$!
set +m
wait "$CARGO_PID" || rc=$?
CARGO_PID=""
exit "$rc"   # the EXIT trap cleans up and exits with this code
