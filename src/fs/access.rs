//! Who may use the mount: the `allow_users`, `allow_groups`, `deny_users` and `deny_groups`
//! options, checked on every request against the caller's uid, gid and supplementary groups.
//!
//! Names are resolved once, at mount time (getpwnam_r/getgrnam_r); numbers are taken as ids.
//! A request is refused (EACCES) when the caller's uid is in `deny_users` or any of its groups is
//! in `deny_groups`; otherwise, when an allow list is given, it must match the uid or one of the
//! groups. The mounting user is always let in (it can unmount anyway); root is not special.
//!
//! Supplementary groups are not in the FUSE request: they are read from `/proc/PID/status`
//! (`Groups:`) and cached per (pid, uid, gid) for a second, and only when a group list is set.

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const GROUP_CACHE_TTL: Duration = Duration::from_secs(1);

/// Groups of a caller, keyed by (pid, uid, gid), with the time they were read.
type GroupCache = HashMap<(u32, u32, u32), (Instant, Vec<u32>)>;

/// The resolved lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessLists {
    pub allow_users: Vec<u32>,
    pub allow_groups: Vec<u32>,
    pub deny_users: Vec<u32>,
    pub deny_groups: Vec<u32>,
}

impl AccessLists {
    /// Resolve the names given in the options.
    pub fn resolve(o: &crate::config::Options) -> Result<AccessLists, String> {
        let users = |key: &str, l: &[String]| -> Result<Vec<u32>, String> {
            l.iter()
                .map(|n| resolve_user(n).map_err(|e| format!("option {key}: {e}")))
                .collect()
        };
        let groups = |key: &str, l: &[String]| -> Result<Vec<u32>, String> {
            l.iter()
                .map(|n| resolve_group(n).map_err(|e| format!("option {key}: {e}")))
                .collect()
        };
        Ok(AccessLists {
            allow_users: users("allow_users", &o.allow_users)?,
            allow_groups: groups("allow_groups", &o.allow_groups)?,
            deny_users: users("deny_users", &o.deny_users)?,
            deny_groups: groups("deny_groups", &o.deny_groups)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == AccessLists::default()
    }

    fn uses_groups(&self) -> bool {
        !self.allow_groups.is_empty() || !self.deny_groups.is_empty()
    }

    /// The decision for a caller that is not the mounting user; `groups` gives the caller's
    /// primary and supplementary groups (asked for only when a group list is set).
    pub fn permits(&self, uid: u32, groups: impl FnOnce() -> Vec<u32>) -> bool {
        if self.deny_users.contains(&uid) {
            return false;
        }
        let groups = if self.uses_groups() {
            groups()
        } else {
            Vec::new()
        };
        if groups.iter().any(|g| self.deny_groups.contains(g)) {
            return false;
        }
        if self.allow_users.is_empty() && self.allow_groups.is_empty() {
            return true;
        }
        self.allow_users.contains(&uid) || groups.iter().any(|g| self.allow_groups.contains(g))
    }
}

/// The lists plus the mounting user, with the per-process group cache.
#[derive(Debug)]
pub struct Access {
    lists: AccessLists,
    owner: u32,
    groups: Mutex<GroupCache>,
}

impl Access {
    pub fn new(lists: AccessLists, owner: u32) -> Access {
        Access {
            lists,
            owner,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// May the caller (from a FUSE request header) use the mount?
    pub fn permits(&self, uid: u32, gid: u32, pid: u32) -> bool {
        if uid == self.owner || self.lists.is_empty() {
            return true;
        }
        self.lists.permits(uid, || self.groups_of(uid, gid, pid))
    }

    fn groups_of(&self, uid: u32, gid: u32, pid: u32) -> Vec<u32> {
        let now = Instant::now();
        let key = (pid, uid, gid);
        {
            let mut c = super::lock(&self.groups);
            if let Some((t, g)) = c.get(&key) {
                if now.duration_since(*t) < GROUP_CACHE_TTL {
                    return g.clone();
                }
            }
            if c.len() > 4096 {
                c.retain(|_, (t, _)| now.duration_since(*t) < GROUP_CACHE_TTL);
            }
        }
        let mut g = vec![gid];
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            g.extend(supplementary_groups(&text));
        }
        super::lock(&self.groups).insert(key, (now, g.clone()));
        g
    }
}

/// The `Groups:` line of `/proc/PID/status`.
pub fn supplementary_groups(status: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|g| g.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn lookup_buf_len() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_GETPW_R_SIZE_MAX) };
    if n > 0 {
        n as usize
    } else {
        16384
    }
}

/// A user name or numeric uid.
pub fn resolve_user(name: &str) -> Result<u32, String> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    let c = CString::new(name).map_err(|_| format!("unknown user '{name}'"))?;
    let mut len = lookup_buf_len();
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        // SAFETY: passwd is plain data; getpwnam_r writes into pw and buf (of len bytes) only.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the call; buf outlives it.
        let r = unsafe { libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), len, &mut out) };
        if r == libc::ERANGE && len < 1 << 20 {
            len *= 4;
            continue;
        }
        if r != 0 {
            return Err(format!(
                "cannot look up user '{name}': {}",
                std::io::Error::from_raw_os_error(r)
            ));
        }
        if out.is_null() {
            return Err(format!("unknown user '{name}'"));
        }
        return Ok(pw.pw_uid);
    }
}

/// A group name or numeric gid.
pub fn resolve_group(name: &str) -> Result<u32, String> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    let c = CString::new(name).map_err(|_| format!("unknown group '{name}'"))?;
    let mut len = lookup_buf_len();
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        // SAFETY: group is plain data; getgrnam_r writes into gr and buf (of len bytes) only.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::group = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the call; buf outlives it.
        let r = unsafe { libc::getgrnam_r(c.as_ptr(), &mut gr, buf.as_mut_ptr(), len, &mut out) };
        if r == libc::ERANGE && len < 1 << 20 {
            len *= 4;
            continue;
        }
        if r != 0 {
            return Err(format!(
                "cannot look up group '{name}': {}",
                std::io::Error::from_raw_os_error(r)
            ));
        }
        if out.is_null() {
            return Err(format!("unknown group '{name}'"));
        }
        return Ok(gr.gr_gid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(au: &[u32], ag: &[u32], du: &[u32], dg: &[u32]) -> AccessLists {
        AccessLists {
            allow_users: au.to_vec(),
            allow_groups: ag.to_vec(),
            deny_users: du.to_vec(),
            deny_groups: dg.to_vec(),
        }
    }

    #[test]
    fn allow_and_deny() {
        let l = lists(&[10], &[50], &[], &[]);
        assert!(l.permits(10, Vec::new));
        assert!(l.permits(11, || vec![11, 50]));
        assert!(!l.permits(11, || vec![11]));
        assert!(!l.permits(0, || vec![0]), "root is not special");
        // Deny wins over allow.
        let l = lists(&[10], &[50], &[10], &[60]);
        assert!(!l.permits(10, || vec![10]));
        assert!(!l.permits(11, || vec![50, 60]));
        // Only deny lists: everyone else may enter.
        let l = lists(&[], &[], &[7], &[]);
        assert!(l.permits(8, || panic!("groups not needed")));
        assert!(!l.permits(7, Vec::new));
    }

    #[test]
    fn owner_always_and_empty_lists_permit() {
        let a = Access::new(lists(&[10], &[], &[], &[]), 1000);
        assert!(a.permits(1000, 1000, 1));
        assert!(!a.permits(0, 0, 1));
        let a = Access::new(AccessLists::default(), 1000);
        assert!(a.permits(4343, 4343, 1));
    }

    #[test]
    fn proc_status_groups() {
        let s = "Name:\tbash\nUid:\t0\t0\t0\t0\nGroups:\t4 24 27 \nNgid:\t0\n";
        assert_eq!(supplementary_groups(s), vec![4, 24, 27]);
        assert_eq!(supplementary_groups("Groups:\t\n"), Vec::<u32>::new());
        let own = std::fs::read_to_string(format!("/proc/{}/status", std::process::id())).unwrap();
        assert!(own.contains("Groups:"));
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(resolve_user("root"), Ok(0));
        assert_eq!(resolve_user("4242"), Ok(4242));
        assert_eq!(resolve_group("root"), Ok(0));
        let e = resolve_user("no-such-user-smb3fs").unwrap_err();
        assert!(e.contains("unknown user 'no-such-user-smb3fs'"), "{e}");
        let e = resolve_group("no-such-group-smb3fs").unwrap_err();
        assert!(e.contains("unknown group 'no-such-group-smb3fs'"), "{e}");
    }
}
