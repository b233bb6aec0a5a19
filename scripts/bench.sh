#!/usr/bin/env bash
# smb3fs benchmark against smbclient, both on the same private encrypted Samba.
#
#   bash scripts/bench.sh
#   BENCH_SIZE_MB=64 BENCH_FILES=1000 BENCH_TREE_FILES=2000 bash scripts/bench.sh   # quick run
#
# Measures (median of BENCH_RUNS=3 runs each):
#   - sequential write of a BENCH_SIZE_MB (1024) MiB file: dd bs=1M through the mount vs
#     smbclient put. dd's close() returns only once the server has acknowledged every write (the
#     mount's write-behind settles at close), the same point smbclient put ends at; a second row
#     adds conv=fsync, which also makes the server write to its disk (smbclient has no such step);
#   - sequential read of it: dd bs=1M on a fresh mount (cold page cache) vs smbclient get;
#   - ls -l of a directory of BENCH_FILES (10000) files on a fresh mount vs smbclient ls;
#   - untar of a generated tree of BENCH_TREE_FILES (20000) small files vs smbclient -T x;
#   - ls -l of a directory of BENCH_BIG_DIR (100000) files, cold (fresh mount) and warm (again,
#     from the directory cache; actimeo=60) vs smbclient ls, and the mount daemon's peak RSS
#     (VmHWM) after both.
# Prints a table with ratios (>1 means smb3fs is faster). Samba runs on 127.0.0.1 with SMB 3.1.1
# and encryption required, so both clients pay for AES on both ends.
set -euo pipefail

cd "$(dirname "$0")/.."
size_mb=${BENCH_SIZE_MB:-1024}
nfiles=${BENCH_FILES:-10000}
ntree=${BENCH_TREE_FILES:-20000}
nbig=${BENCH_BIG_DIR:-100000}
runs=${BENCH_RUNS:-3}

if [[ -f scripts/deps.sh ]]; then
    # shellcheck source=/dev/null
    source scripts/deps.sh
    if declare -F smb3fs_deps >/dev/null; then smb3fs_deps; fi
fi
cargo build --release --quiet
bin=$PWD/target/release/smb3fs

# shellcheck source=scripts/lib.sh
source scripts/lib.sh
trap smb3fs_private_cleanup EXIT
smb3fs_private_samba smb3fs-bench
work=$SMB3FS_WORK
port=$SMB3FS_PORT
mnt=$work/mnt
mkdir -p "$mnt"
share=$SMB3FS_TEST_SHARE_DIR
unc=//127.0.0.1:$port/$SMB3FS_TEST_SHARE
smbc=(smbclient "//127.0.0.1/$SMB3FS_TEST_SHARE" -p "$port" -A "$SMB3FS_TEST_CREDENTIALS" -m SMB3_11
    --client-protection=encrypt)

mount_fs() {
    "$bin" mount "$unc" "$mnt" -o "credentials=$SMB3FS_TEST_CREDENTIALS"
}
umount_fs() {
    fusermount3 -u "$mnt"
    for _ in $(seq 100); do grep -q " $mnt " /proc/self/mounts || return 0; sleep 0.05; done
}
now() { date +%s.%N; }
# seconds taken by "$@"
timed() {
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>&1 || { echo "bench.sh: failed: $*" >&2; return 1; }
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
chown_share() { chown -R --reference="$share" "$share"; }

echo "preparing: ${size_mb} MiB file, ${nfiles}-file directory, ${ntree}-file tree" >&2
big=$work/big.bin
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$big"
mkdir -p "$share/many" && (cd "$share/many" && seq -f "file-%05g.txt" 1 "$nfiles" | xargs touch)
mkdir -p "$share/huge" && (cd "$share/huge" && seq -f "entry-%06g.dat" 1 "$nbig" | xargs touch)
tree=$work/tree
per_dir=100
for ((d = 0; d < (ntree + per_dir - 1) / per_dir; d++)); do
    mkdir -p "$tree/src/dir$d"
    for ((f = 0; f < per_dir && d * per_dir + f < ntree; f++)); do
        printf 'file %d in dir %d\n%*s\n' "$f" "$d" $((f * 7)) x >"$tree/src/dir$d/f$f.c"
    done
done
tar -C "$tree" -cf "$work/tree.tar" src
chown_share

declare -a w_fs ws_fs w_sc r_fs r_sc l_fs l_sc t_fs t_sc h_cold h_warm h_sc h_rss
for ((i = 1; i <= runs; i++)); do
    echo "run $i/$runs" >&2
    mount_fs
    w_fs+=("$(timed dd if="$big" of="$mnt/big-fs.bin" bs=1M)")
    ws_fs+=("$(timed dd if="$big" of="$mnt/big-fsync.bin" bs=1M conv=fsync)")
    umount_fs
    w_sc+=("$(timed "${smbc[@]}" -c "put $big big-sc.bin")")

    mount_fs
    r_fs+=("$(timed dd if="$mnt/big-fs.bin" of=/dev/null bs=1M)")
    umount_fs
    r_sc+=("$(timed "${smbc[@]}" -c "get big-sc.bin /dev/null")")

    mount_fs
    l_fs+=("$(timed ls -l "$mnt/many")")
    umount_fs
    l_sc+=("$(timed "${smbc[@]}" -c "cd many; ls")")

    rm -rf "$share/untar-fs" "$share/untar-sc"
    mkdir -p "$share/untar-fs" "$share/untar-sc"
    chown_share
    mount_fs
    t_fs+=("$(timed tar -C "$mnt/untar-fs" -xf "$work/tree.tar")")
    umount_fs
    t_sc+=("$(timed "${smbc[@]}" -D untar-sc -Tx "$work/tree.tar")")

    # The big directory, in the foreground so that the daemon's pid is known.
    "$bin" mount "$unc" "$mnt" -o "credentials=$SMB3FS_TEST_CREDENTIALS,actimeo=60" -f &
    fs_pid=$!
    for _ in $(seq 200); do grep -q " $mnt " /proc/self/mounts && break; sleep 0.05; done
    h_cold+=("$(timed ls -l "$mnt/huge")")
    h_warm+=("$(timed ls -l "$mnt/huge")")
    h_rss+=("$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$fs_pid/status")")
    umount_fs
    wait "$fs_pid" || true
    h_sc+=("$(timed "${smbc[@]}" -c "cd huge; ls")")
done
got=$(find "$share/untar-fs" -type f | wc -l)
[[ $got -eq $ntree ]] || echo "bench.sh: warning: untar through the mount made $got files, expected $ntree" >&2
cmp "$big" "$share/big-fs.bin" || { echo "bench.sh: the file written through the mount differs" >&2; exit 1; }

row() { # name unit smb3fs smbclient higher-is-better(1|0)
    awk -v n="$1" -v u="$2" -v a="$3" -v b="$4" -v hb="$5" 'BEGIN {
        r = (hb ? a / b : b / a)
        printf "%-28s %12.2f %12.2f %8s %7.2fx\n", n, a, b, u, r }'
}
mbps() { awk -v s="$size_mb" -v t="$1" 'BEGIN { printf "%.2f", s / t }'; }
echo
printf "%-28s %12s %12s %8s %8s\n" "benchmark (median of $runs)" smb3fs smbclient unit ratio
row "write ${size_mb} MiB (dd)" MiB/s "$(mbps "$(median "${w_fs[@]}")")" "$(mbps "$(median "${w_sc[@]}")")" 1
row "write ${size_mb} MiB (dd fsync)" MiB/s "$(mbps "$(median "${ws_fs[@]}")")" "$(mbps "$(median "${w_sc[@]}")")" 1
row "read ${size_mb} MiB (cold)" MiB/s "$(mbps "$(median "${r_fs[@]}")")" "$(mbps "$(median "${r_sc[@]}")")" 1
row "ls -l ${nfiles} files" s "$(median "${l_fs[@]}")" "$(median "${l_sc[@]}")" 0
row "untar ${ntree} files" s "$(median "${t_fs[@]}")" "$(median "${t_sc[@]}")" 0
row "ls -l ${nbig} files (cold)" s "$(median "${h_cold[@]}")" "$(median "${h_sc[@]}")" 0
row "ls -l ${nbig} files (warm)" s "$(median "${h_warm[@]}")" "$(median "${h_sc[@]}")" 0
echo "smb3fs daemon peak RSS (VmHWM) after ls -l of ${nbig} files: $(median "${h_rss[@]}") MiB"
echo "(ratio: smb3fs speed / smbclient speed; above 1 means smb3fs is faster)"
