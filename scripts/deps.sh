#!/usr/bin/env bash
# Install what smb3fs needs to build and test (Debian/Ubuntu, apt).
#
#   bash scripts/deps.sh          # or: source scripts/deps.sh
#
# Idempotent: when everything is present it only runs one dpkg-query and
# returns. Otherwise it runs `apt-get update` once and installs the missing
# packages non-interactively. Needs root to install; cargo must already exist
# (it is not installed from apt: the machine's rustup toolchain is used).
set -euo pipefail

SMB3FS_APT_PACKAGES=(
    samba            # smbd: the test server (scripts/samba.sh)
    smbclient        # reference client, used to check the test server
    fuse3            # fusermount3, /dev/fuse helper for mounting
    tshark           # protocol dissection when debugging
    tcpdump          # packet capture on lo
    rsync            # file-tree comparisons in tests/demo
    git
    pkg-config
    ca-certificates
    bc               # arithmetic in the benchmark scripts
    util-linux       # setpriv, unshare, flock
    attr             # getfattr/setfattr: the normalized-name and status attributes in tests
)

smb3fs_deps() {
    local missing=() pkg status
    for pkg in "${SMB3FS_APT_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
        [[ $status == ii* ]] || missing+=("$pkg")
    done

    if ((${#missing[@]})); then
        if [[ $(id -u) -ne 0 ]]; then
            echo "deps.sh: missing packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
            return 1
        fi
        echo "deps.sh: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        # tshark asks whether non-root users may capture; answer no, without a prompt.
        echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${missing[@]}" </dev/null >/dev/null
        # Installing the samba package may start a system smbd on some systems;
        # the tests never use it (they run a private smbd on a private port).
    fi

    if ! command -v cargo >/dev/null 2>&1; then
        # rustup installs into ~/.cargo/bin, which a non-login shell may not have on PATH.
        if [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/cargo ]]; then
            export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
        else
            echo "deps.sh: ERROR: cargo not found (not on PATH, not in ~/.cargo/bin)." >&2
            echo "deps.sh: install a Rust toolchain (rustup) first; it is not installed by this script." >&2
            return 1
        fi
    fi

    if [[ ! -e /dev/fuse ]]; then
        echo "deps.sh: warning: /dev/fuse does not exist; FUSE mount tests will not work here" >&2
    fi
    return 0
}

# Run when executed, and also when sourced (test.sh sources this file).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    smb3fs_deps
    echo "deps.sh: all dependencies present"
else
    smb3fs_deps
fi
