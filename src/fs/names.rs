//! File names between FUSE and SMB.
//!
//! Both sides speak Unicode: FUSE hands us bytes that must be UTF-8, SMB carries UTF-16 (the
//! client converts). SMB forbids `" * : < > ? \ |` in names, which POSIX allows. Like
//! `mount.cifs -o mapposix` (the "SFM" mapping of Services for Macintosh, see
//! `fs/smb/client/cifs_unicode.h`: `SFM_DOUBLEQUOTE 0xF020` … `SFM_PIPE 0xF027`), each of those
//! characters is stored on the server as a private-use code point and mapped back when listed, so
//! names round-trip and interoperate with Windows/macOS clients and with cifs mounts that use the
//! same option. A space or period at the end of a name, which Windows and Samba cannot store,
//! is mapped the same way (`SFM_SPACE 0xF028`, `SFM_PERIOD 0xF029`). With `nomapposix` such
//! names are refused with EINVAL instead.

/// Prefix of the hidden names that files unlinked while open are renamed to (see `handles`).
pub const DELETED_PREFIX: &str = ".smb3fs-deleted-";

/// (POSIX character, private-use code point), from the Linux cifs client's SFM table.
const SFM: [(char, char); 8] = [
    ('"', '\u{F020}'),
    ('*', '\u{F021}'),
    (':', '\u{F022}'),
    ('<', '\u{F023}'),
    ('>', '\u{F024}'),
    ('?', '\u{F025}'),
    ('\\', '\u{F026}'),
    ('|', '\u{F027}'),
];

/// Windows, and so Samba, cannot store a name that ends in a space or a period (Samba shows
/// such a file under a mangled 8.3 name); the SFM mapping stores that last character as these.
const SFM_SPACE: char = '\u{F028}';
const SFM_PERIOD: char = '\u{F029}';

fn forbidden(c: char) -> Option<char> {
    SFM.iter().find(|(p, _)| *p == c).map(|(_, m)| *m)
}

fn mapped(c: char) -> Option<char> {
    SFM.iter().find(|(_, m)| *m == c).map(|(p, _)| *p)
}

/// A name from the kernel as it is to be sent to the server. `None` when the name is not UTF-8,
/// or contains a character SMB forbids and mapping is off (the caller answers EINVAL).
pub fn to_server(name: &[u8], map: bool) -> Option<String> {
    let s = std::str::from_utf8(name).ok()?;
    if s.is_empty() || s.contains('/') || s.contains('\0') {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match forbidden(c) {
            Some(m) if map => out.push(m),
            Some(_) => return None,
            None => out.push(c),
        }
    }
    let last = match out.pop() {
        Some(' ') => SFM_SPACE,
        Some('.') => SFM_PERIOD,
        Some(c) => c,
        None => return None,
    };
    if (last == SFM_SPACE || last == SFM_PERIOD) && !map {
        return None;
    }
    out.push(last);
    Some(out)
}

/// A name from a server listing as shown through the mount.
pub fn from_server(name: &str, map: bool) -> String {
    if !map {
        return name.to_string();
    }
    name.chars()
        .map(|c| match c {
            SFM_SPACE => ' ',
            SFM_PERIOD => '.',
            c => mapped(c).unwrap_or(c),
        })
        .collect()
}

/// Names the mount hides: its own placeholders for unlinked-but-open files.
pub fn is_hidden(server_name: &str) -> bool {
    server_name.starts_with(DELETED_PREFIX)
}

/// Whether `path` is `root` or below it; every path is below the share root "".
pub fn is_under(path: &str, root: &str) -> bool {
    root.is_empty()
        || path == root
        || (path.len() > root.len()
            && path.starts_with(root)
            && path.as_bytes()[root.len()] == b'/')
}

/// Join a share-relative directory path and a (server-side) name.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The last component of a share-relative path.
pub fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map(|(_, n)| n).unwrap_or(path)
}

/// The directory part of a share-relative path ("" for the root's children).
pub fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_a_directory() {
        assert!(is_under("a/b", ""));
        assert!(is_under("a", "a"));
        assert!(is_under("a/b/c", "a/b"));
        assert!(!is_under("a/bc", "a/b"));
        assert!(!is_under("a", "a/b"));
        assert!(!is_under("", "a"));
    }

    #[test]
    fn sfm_mapping_round_trips() {
        let posix = "a\"b*c:d<e>f?g\\h|i";
        let server = to_server(posix.as_bytes(), true).unwrap();
        assert_eq!(
            server,
            "a\u{F020}b\u{F021}c\u{F022}d\u{F023}e\u{F024}f\u{F025}g\u{F026}h\u{F027}i"
        );
        assert_eq!(from_server(&server, true), posix);
        for name in [
            "plain.txt",
            "with space",
            "é",
            "日本",
            "😀 emoji",
            ":",
            "??",
            "a|b",
        ] {
            let s = to_server(name.as_bytes(), true).unwrap();
            assert!(!s.chars().any(|c| "\"*:<>?\\|".contains(c)), "{s}");
            assert_eq!(from_server(&s, true), name);
        }
    }

    #[test]
    fn trailing_space_and_period_are_mapped_only_at_the_end() {
        assert_eq!(to_server(b"x.", true).unwrap(), "x\u{F029}");
        assert_eq!(to_server(b"y ", true).unwrap(), "y\u{F028}");
        assert_eq!(to_server(b"...", true).unwrap(), "..\u{F029}");
        assert_eq!(to_server(b"a. b.txt", true).unwrap(), "a. b.txt");
        assert_eq!(to_server(b".hidden", true).unwrap(), ".hidden");
        for name in ["x.", "y ", "...", "a b .", "end: ."] {
            let s = to_server(name.as_bytes(), true).unwrap();
            assert!(!s.ends_with(['.', ' ']), "{s:?}");
            assert_eq!(from_server(&s, true), name);
        }
        assert_eq!(to_server(b"x.", false), None);
        assert_eq!(to_server(b"y ", false), None);
        assert_eq!(to_server(b"x.y", false).as_deref(), Some("x.y"));
    }

    #[test]
    fn nomapposix_refuses_and_keeps_names() {
        assert_eq!(to_server(b"a:b", false), None);
        assert_eq!(to_server("日本".as_bytes(), false).as_deref(), Some("日本"));
        assert_eq!(from_server("a\u{F022}b", false), "a\u{F022}b");
    }

    #[test]
    fn invalid_names() {
        assert_eq!(to_server(b"\xff\xfe", true), None);
        assert_eq!(to_server(b"", true), None);
        assert_eq!(to_server(b"a/b", true), None);
    }

    #[test]
    fn paths() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a/b", "c"), "a/b/c");
        assert_eq!(parent_of("a/b/c"), "a/b");
        assert_eq!(parent_of("a"), "");
        assert!(is_hidden(".smb3fs-deleted-5-1"));
        assert!(!is_hidden(".smb3fs"));
    }
}
