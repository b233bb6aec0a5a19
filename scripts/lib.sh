# shellcheck shell=bash
# Shared by demo.sh, bench.sh, bench-client.sh and capture-check.sh (sourced, from the repo root):
# a private Samba (scripts/samba.sh) in a fresh temporary directory, and its cleanup.

# smb3fs_private_samba NAME: make /tmp/NAME.XXXXXX, start smbd in it on a free random port and
# source its env (SMB3FS_TEST_*). Sets SMB3FS_WORK (the directory), SMB3FS_SAMBA_DIR and
# SMB3FS_PORT.
# shellcheck disable=SC2034  # the variables are for the scripts that source this file
smb3fs_private_samba() {
    SMB3FS_WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 0755 "$SMB3FS_WORK" # smbd's test user must reach the share below it
    SMB3FS_SAMBA_DIR=$SMB3FS_WORK/samba
    SMB3FS_PORT=""
    local p
    for _ in 1 2 3 4 5 6 7 8; do
        p=$((20000 + RANDOM % 20001))
        if bash scripts/samba.sh start "$SMB3FS_SAMBA_DIR" "$p" >"$SMB3FS_WORK/samba-start.log" 2>&1; then
            SMB3FS_PORT=$p
            # shellcheck source=/dev/null
            source "$SMB3FS_SAMBA_DIR/env"
            return 0
        fi
        bash scripts/samba.sh stop "$SMB3FS_SAMBA_DIR" >/dev/null 2>&1 || true
    done
    cat "$SMB3FS_WORK/samba-start.log" >&2
    echo "could not start smbd" >&2
    return 1
}

# smb3fs_private_cleanup: unmount whatever is mounted below SMB3FS_WORK, stop its smbd, remove it.
smb3fs_private_cleanup() {
    [[ -n ${SMB3FS_WORK:-} && -d $SMB3FS_WORK ]] || return 0
    local mnt
    while read -r _ mnt _; do
        mnt=$(printf '%b' "$mnt")
        if [[ $mnt == "$SMB3FS_WORK"/* ]]; then
            fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null || true
        fi
    done </proc/self/mounts
    bash scripts/samba.sh stop "$SMB3FS_SAMBA_DIR" >/dev/null 2>&1 || true
    rm -rf "$SMB3FS_WORK"
}
