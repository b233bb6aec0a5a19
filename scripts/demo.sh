#!/usr/bin/env bash
# smb3fs demo: build, start a private encrypted Samba, put sample files in its share, mount it
# with smb3fs and look around. Leaves the share mounted and prints how to clean up.
#
#   bash scripts/demo.sh           # leave it mounted
#   bash scripts/demo.sh --check   # also unmount, stop Samba, exit non-zero on any failure
set -euo pipefail

cd "$(dirname "$0")/.."
check=0
[[ ${1:-} == --check ]] && check=1

step() { printf '\n== %s\n' "$*"; }

if [[ -f scripts/deps.sh ]]; then
    # shellcheck source=/dev/null
    source scripts/deps.sh
    if declare -F smb3fs_deps >/dev/null; then smb3fs_deps; fi
fi
for tool in cargo fusermount3 smbd; do
    command -v "$tool" >/dev/null || { echo "demo.sh: $tool is missing (see scripts/deps.sh)" >&2; exit 1; }
done

step "building (cargo build --release)"
cargo build --release --quiet
bin=$PWD/target/release/smb3fs

# shellcheck source=scripts/lib.sh
source scripts/lib.sh
if ((check)); then
    trap smb3fs_private_cleanup EXIT
else
    trap 'echo "demo.sh: failed; cleaning up" >&2; smb3fs_private_cleanup' ERR
fi

step "starting a private Samba on 127.0.0.1 (SMB 3.1.1, encryption required)"
smb3fs_private_samba smb3fs-demo
work=$SMB3FS_WORK
sambadir=$SMB3FS_SAMBA_DIR
port=$SMB3FS_PORT
mnt=$work/mnt
mkdir -p "$mnt"
echo "smbd listening on 127.0.0.1:$port (files in $sambadir)"

step "putting sample files in the share ($SMB3FS_TEST_SHARE_DIR)"
share=$SMB3FS_TEST_SHARE_DIR
mkdir -p "$share/docs/notes" "$share/photos 2024"
printf 'Hello from an encrypted SMB 3.1.1 share, mounted with smb3fs.\n' >"$share/hello.txt"
printf 'Bonjour, 日本語, emoji 😀\n' >"$share/docs/café-日本.txt"
printf 'meeting at 10:00\n' >"$share/docs/notes/todo.md"
head -c 1048576 /dev/urandom >"$share/photos 2024/random.bin"
chown -R --reference="$share" "$share"

step "mounting //127.0.0.1:$port/$SMB3FS_TEST_SHARE on $mnt"
"$bin" mount "//127.0.0.1:$port/$SMB3FS_TEST_SHARE" "$mnt" -o "credentials=$SMB3FS_TEST_CREDENTIALS"
grep " $mnt " /proc/self/mounts

step "ls -la $mnt"
ls -la "$mnt"
ls -la "$mnt/docs"

step "cat through the mount"
cat "$mnt/hello.txt"
cat "$mnt/docs/café-日本.txt"

step "writing through the mount, reading on the server"
echo "written through smb3fs at $(date)" >"$mnt/docs/from-fuse.txt"
cat "$share/docs/from-fuse.txt"
cmp "$mnt/photos 2024/random.bin" "$share/photos 2024/random.bin"
df -h "$mnt"

if ((check)); then
    step "unmounting and stopping Samba"
    fusermount3 -u "$mnt"
    for _ in $(seq 50); do grep -q " $mnt " /proc/self/mounts || break; sleep 0.1; done
    if grep -q " $mnt " /proc/self/mounts; then echo "demo.sh: $mnt is still mounted" >&2; exit 1; fi
    bash scripts/samba.sh stop "$sambadir"
    echo "demo.sh --check: OK"
else
    trap - ERR
    step "done; the share stays mounted"
    cat <<MSG
Mounted on:   $mnt
Unmount with: fusermount3 -u $mnt
Stop Samba:   bash scripts/samba.sh stop $sambadir
Remove all:   rm -rf $work
MSG
fi
