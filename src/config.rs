//! Command-line configuration: the `//HOST[:PORT]/SHARE` target, `-o` options with `mount.cifs`
//! names, and credentials from a credentials file or the environment (never from the command line,
//! where `ps` would show them).

use std::time::Duration;

use crate::auth::Credentials;
use crate::client::options::{parse_cipher, parse_dialect};
use crate::client::ConnectOptions;

/// `//HOST[:PORT]/SHARE` (also with backslashes); HOST may be `[v6]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: Option<u16>,
    pub share: String,
}

pub fn parse_target(s: &str) -> Result<Target, String> {
    let bad = || format!("'{s}' is not of the form //HOST[:PORT]/SHARE");
    let norm = s.replace('\\', "/");
    let rest = norm.strip_prefix("//").ok_or_else(bad)?;
    let (hostport, share) = rest.split_once('/').ok_or_else(bad)?;
    let share = share.trim_end_matches('/');
    if share.is_empty() || share.contains('/') || hostport.is_empty() {
        return Err(bad());
    }
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| format!("bad port in '{s}'"))?),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        (h.to_string(), port)
    } else if let Some((h, p)) = hostport.rsplit_once(':') {
        (
            h.to_string(),
            Some(p.parse().map_err(|_| format!("bad port in '{s}'"))?),
        )
    } else {
        (hostport.to_string(), None)
    };
    Ok(Target {
        host,
        port,
        share: share.to_string(),
    })
}

/// Every `-o` option, parsed. Mount-only options are kept here too so that one parser names
/// unknown options for every subcommand.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub username: Option<String>,
    pub domain: Option<String>,
    pub credentials_file: Option<String>,
    pub port: Option<u16>,
    pub min_dialect: Option<u16>,
    pub max_dialect: Option<u16>,
    /// `seal` (default) or `seal=no`/`noseal`.
    pub seal: Option<bool>,
    pub ciphers: Option<Vec<crate::crypto::Cipher>>,
    pub connect_timeout: Option<Duration>,
    // Mount options, used by `smb3fs mount`.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub file_mode: Option<u32>,
    pub dir_mode: Option<u32>,
    pub read_only: bool,
    pub actimeo: Option<Duration>,
    pub acregmax: Option<Duration>,
    pub acdirmax: Option<Duration>,
    pub write_through: bool,
    pub allow_other: bool,
    /// `global`: a mount shared by every local user (allow_other plus kernel permission checks
    /// against uid/gid/file_mode/dir_mode).
    pub global: bool,
    /// Access lists (`:`-separated user or group names, or numeric ids), resolved at mount time.
    pub allow_users: Vec<String>,
    pub allow_groups: Vec<String>,
    pub deny_users: Vec<String>,
    pub deny_groups: Vec<String>,
    /// Map characters SMB forbids (`: * ? < > | "`) to private-use code points, as mount.cifs does.
    pub mapposix: Option<bool>,
    /// Most directory entries the directory cache holds (`dircache_max=N`; 0 turns it off).
    pub dircache_max: Option<usize>,
    /// `rasize=BYTES`: the kernel's read-ahead for the mount (as mount.cifs).
    pub rasize: Option<u64>,
    /// `cache=none`: file data bypasses the kernel's page cache (direct I/O), as with mount.cifs.
    pub cache_none: bool,
    /// Most directories watched for changes at once (`notify_max=N`; 0 turns watching off).
    pub notify_max: Option<usize>,
    /// `drop_behind=BYTES`: how far behind a sequential stream its pages leave the page cache
    /// (0: never).
    pub drop_behind: Option<u64>,
    /// `nolease`: ask for no leases (no caching across opens, no deferred close), as mount.cifs.
    pub nolease: bool,
    /// `closetimeo=SECONDS`: how long a closed handle with a handle lease is kept open.
    pub closetimeo: Option<Duration>,
}

fn parse_bool(key: &str, v: Option<&str>) -> Result<bool, String> {
    match v.map(|s| s.to_ascii_lowercase()) {
        None => Ok(true),
        Some(s) if ["yes", "on", "1", "true"].contains(&s.as_str()) => Ok(true),
        Some(s) if ["no", "off", "0", "false"].contains(&s.as_str()) => Ok(false),
        Some(s) => Err(format!("option {key}: '{s}' is not yes or no")),
    }
}

fn need<'a>(key: &str, v: Option<&'a str>) -> Result<&'a str, String> {
    v.filter(|s| !s.is_empty())
        .ok_or_else(|| format!("option {key} needs a value ({key}=…)"))
}

fn parse_num<T: std::str::FromStr>(key: &str, v: Option<&str>) -> Result<T, String> {
    let s = need(key, v)?;
    s.parse()
        .map_err(|_| format!("option {key}: '{s}' is not a number"))
}

fn parse_mode(key: &str, v: Option<&str>) -> Result<u32, String> {
    let s = need(key, v)?;
    let m = u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .map_err(|_| format!("option {key}: '{s}' is not an octal mode"))?;
    if m > 0o7777 {
        return Err(format!("option {key}: '{s}' is larger than 07777"));
    }
    Ok(m)
}

fn parse_list(key: &str, v: Option<&str>) -> Result<Vec<String>, String> {
    let s = need(key, v)?;
    let items: Vec<String> = s.split(':').map(|n| n.trim().to_string()).collect();
    if items.iter().any(String::is_empty) {
        return Err(format!(
            "option {key}: '{s}' has an empty name (separate names with ':')"
        ));
    }
    Ok(items)
}

fn parse_secs(key: &str, v: Option<&str>) -> Result<Duration, String> {
    Ok(Duration::from_secs(parse_num::<u64>(key, v)?))
}

impl Options {
    /// Parse one or more comma-separated `-o` lists.
    pub fn parse<'a>(lists: impl IntoIterator<Item = &'a str>) -> Result<Options, String> {
        let mut o = Options::default();
        let mut unknown = Vec::new();
        for list in lists {
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (key, value) = match item.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (item, None),
                };
                match key {
                    "username" | "user" => o.username = Some(need(key, value)?.to_string()),
                    "domain" | "dom" | "workgroup" => o.domain = Some(value.unwrap_or("").to_string()),
                    "credentials" | "cred" => o.credentials_file = Some(need(key, value)?.to_string()),
                    "password" | "pass" => {
                        return Err("option password= is refused: a password on the command line is \
                                    visible to every user in ps. Put it in a credentials file \
                                    (-o credentials=FILE, mode 0600) or the PASSWD environment variable"
                            .into())
                    }
                    "port" => o.port = Some(parse_num(key, value)?),
                    "vers" => {
                        let s = need(key, value)?;
                        let d = parse_dialect(s).ok_or_else(|| format!("option vers: unknown dialect '{s}'"))?;
                        o.min_dialect = Some(d);
                        o.max_dialect = Some(d);
                    }
                    "min_vers" | "max_vers" => {
                        let s = need(key, value)?;
                        let d = parse_dialect(s).ok_or_else(|| format!("option {key}: unknown dialect '{s}'"))?;
                        if key == "min_vers" {
                            o.min_dialect = Some(d)
                        } else {
                            o.max_dialect = Some(d)
                        }
                    }
                    "seal" => o.seal = Some(parse_bool(key, value)?),
                    "noseal" => o.seal = Some(false),
                    "cipher" | "ciphers" => {
                        let s = need(key, value)?;
                        let list = s
                            .split([':', '+', ' '])
                            .map(|c| parse_cipher(c).ok_or_else(|| format!("option {key}: unknown cipher '{c}'")))
                            .collect::<Result<Vec<_>, _>>()?;
                        o.ciphers = Some(list);
                    }
                    "connect_timeout" => o.connect_timeout = Some(parse_secs(key, value)?),
                    "uid" => o.uid = Some(parse_num(key, value)?),
                    "gid" => o.gid = Some(parse_num(key, value)?),
                    "file_mode" => o.file_mode = Some(parse_mode(key, value)?),
                    "dir_mode" => o.dir_mode = Some(parse_mode(key, value)?),
                    "ro" => o.read_only = true,
                    "rw" => o.read_only = false,
                    "actimeo" => o.actimeo = Some(parse_secs(key, value)?),
                    "acregmax" => o.acregmax = Some(parse_secs(key, value)?),
                    "acdirmax" => o.acdirmax = Some(parse_secs(key, value)?),
                    "write_through" => o.write_through = parse_bool(key, value)?,
                    "allow_other" => o.allow_other = true,
                    "global" => o.global = parse_bool(key, value)?,
                    "allow_users" => o.allow_users = parse_list(key, value)?,
                    "allow_groups" => o.allow_groups = parse_list(key, value)?,
                    "deny_users" => o.deny_users = parse_list(key, value)?,
                    "deny_groups" => o.deny_groups = parse_list(key, value)?,
                    "mapposix" => o.mapposix = Some(true),
                    "nomapposix" => o.mapposix = Some(false),
                    "dircache_max" => o.dircache_max = Some(parse_num(key, value)?),
                    "rasize" => o.rasize = Some(parse_num(key, value)?),
                    "cache" => {
                        o.cache_none = match value {
                            Some("strict") => false,
                            Some("none") => true,
                            Some(v) => {
                                return Err(format!(
                                    "option cache={v} is not supported: use cache=strict (the default) or cache=none"
                                ))
                            }
                            None => return Err("option cache needs a value: strict or none".into()),
                        }
                    }
                    "notify_max" => o.notify_max = Some(parse_num(key, value)?),
                    "drop_behind" => o.drop_behind = Some(parse_num(key, value)?),
                    "nolease" => o.nolease = true,
                    "closetimeo" => {
                        o.closetimeo = Some(Duration::from_secs(parse_num(key, value)?))
                    }
                    other => unknown.push(other.to_string()),
                }
            }
        }
        if !unknown.is_empty() {
            return Err(format!("unknown option(s): {}", unknown.join(", ")));
        }
        o.check_global()?;
        Ok(o)
    }

    /// A `global` mount is shared with every local user: refuse modes that would let any of
    /// them write unless an allow list says who may enter at all.
    fn check_global(&self) -> Result<(), String> {
        if !self.global || !self.allow_users.is_empty() || !self.allow_groups.is_empty() {
            return Ok(());
        }
        for (key, mode) in [("file_mode", self.file_mode), ("dir_mode", self.dir_mode)] {
            if let Some(m) = mode.filter(|m| m & 0o002 != 0) {
                return Err(format!(
                    "option global with {key}={m:04o} would let every local user write to the \
                     share: remove the 'other' write bit (e.g. {key}={:04o}) or restrict who may \
                     enter with allow_users= or allow_groups=",
                    m & !0o002
                ));
            }
        }
        Ok(())
    }

    /// Credentials: user from `username=`, the credentials file or $USER; password from the
    /// credentials file, $PASSWD or the file named by $PASSWD_FILE (the `mount.cifs` rules).
    pub fn credentials(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials, String> {
        let mut user = None;
        let mut password = None;
        let mut domain = None;
        if let Some(path) = &self.credentials_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read credentials file {path}: {e}"))?;
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (k, v) = line.split_once('=').unwrap_or((line, ""));
                match k.trim() {
                    "username" | "user" => user = Some(v.to_string()),
                    "password" | "pass" => password = Some(v.to_string()),
                    "domain" | "dom" | "workgroup" => domain = Some(v.to_string()),
                    _ => {
                        return Err(format!(
                            "credentials file {path}: unknown key '{}'",
                            k.trim()
                        ))
                    }
                }
            }
        }
        let user = self
            .username
            .clone()
            .or(user)
            .or_else(|| env("USER"))
            .unwrap_or_default();
        // mount.cifs accepts USER=name%password.
        let (user, inline_pw) = match user.split_once('%') {
            Some((u, p)) => (u.to_string(), Some(p.to_string())),
            None => (user, None),
        };
        let password = match password.or(inline_pw).or_else(|| env("PASSWD")) {
            Some(p) => p,
            None => match env("PASSWD_FILE") {
                Some(f) => std::fs::read_to_string(&f)
                    .map_err(|e| format!("cannot read PASSWD_FILE {f}: {e}"))?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
                None => {
                    return Err(
                        "no password: give -o credentials=FILE (username=, password=, domain= \
                                lines) or set the PASSWD environment variable"
                            .into(),
                    )
                }
            },
        };
        if user.is_empty() {
            return Err("no user name: give -o username=NAME or a credentials file".into());
        }
        let domain = self.domain.clone().or(domain).unwrap_or_default();
        Ok(Credentials {
            username: user,
            domain,
            password,
            workstation: String::new(),
        })
    }

    /// Connection options for `target`, with these options applied over the defaults.
    pub fn connect_options(
        &self,
        target: &Target,
        credentials: Credentials,
    ) -> Result<ConnectOptions, String> {
        let port = self.port.or(target.port).unwrap_or(445);
        let mut c = ConnectOptions::new(&target.host, port, &target.share, credentials);
        if let Some(d) = self.min_dialect {
            c.min_dialect = d;
        }
        if let Some(d) = self.max_dialect {
            c.max_dialect = d;
        }
        if c.min_dialect > c.max_dialect {
            return Err("the dialect floor (min_vers) is above the ceiling (max_vers)".into());
        }
        if let Some(seal) = self.seal {
            c.require_encryption = seal;
        }
        if let Some(ciphers) = &self.ciphers {
            c.ciphers = ciphers.clone();
        }
        if let Some(t) = self.connect_timeout {
            c.connect_timeout = t;
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Cipher;

    #[test]
    fn targets() {
        let t = parse_target("//127.0.0.1:4455/share").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.share.as_str()),
            ("127.0.0.1", Some(4455), "share")
        );
        let t = parse_target("\\\\server\\data").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.share.as_str()),
            ("server", None, "data")
        );
        let t = parse_target("//[::1]:445/s/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", Some(445)));
        assert!(parse_target("server/share").is_err());
        assert!(parse_target("//server").is_err());
        assert!(parse_target("//server:x/s").is_err());
        assert!(parse_target("//server/a/b").is_err());
    }

    #[test]
    fn options_and_unknown_ones() {
        let o = Options::parse([
            "username=bob,port=4455,vers=3.0,cipher=aes-256-gcm:aes-128-ccm",
            "ro,file_mode=0644",
        ])
        .unwrap();
        assert_eq!(o.username.as_deref(), Some("bob"));
        assert_eq!(o.port, Some(4455));
        assert_eq!(o.min_dialect, Some(0x0300));
        assert_eq!(o.ciphers, Some(vec![Cipher::Aes256Gcm, Cipher::Aes128Ccm]));
        assert!(o.read_only);
        assert_eq!(o.file_mode, Some(0o644));
        let e = Options::parse(["bogus,username=x,other=1"]).unwrap_err();
        assert!(e.contains("bogus") && e.contains("other"), "{e}");
        let e = Options::parse(["password=hunter2"]).unwrap_err();
        assert!(e.contains("credentials") && !e.contains("hunter2"), "{e}");
        assert!(Options::parse(["file_mode=999"]).is_err());
        assert_eq!(
            Options::parse(["dircache_max=1000"]).unwrap().dircache_max,
            Some(1000)
        );
        assert!(Options::parse(["dircache_max=x"]).is_err());
        assert!(Options::parse(["cache=none"]).unwrap().cache_none);
        assert!(!Options::parse(["cache=strict"]).unwrap().cache_none);
        assert!(!Options::parse([""]).unwrap().cache_none);
        let e = Options::parse(["cache=loose"]).unwrap_err();
        assert!(e.contains("cache=loose") && e.contains("cache=none"), "{e}");
        assert!(Options::parse(["cache"]).is_err());
        assert_eq!(
            Options::parse(["rasize=1048576"]).unwrap().rasize,
            Some(1 << 20)
        );
        assert!(Options::parse(["rasize=big"]).is_err());
        assert_eq!(
            Options::parse(["notify_max=0"]).unwrap().notify_max,
            Some(0)
        );
        assert!(Options::parse(["notify_max=-1"]).is_err());
        assert_eq!(
            Options::parse(["drop_behind=0"]).unwrap().drop_behind,
            Some(0)
        );
        assert_eq!(Options::parse([""]).unwrap().drop_behind, None);
        assert!(Options::parse(["drop_behind=lots"]).is_err());
        assert!(Options::parse(["nolease"]).unwrap().nolease);
        assert!(!Options::parse([""]).unwrap().nolease);
        assert_eq!(
            Options::parse(["closetimeo=0"]).unwrap().closetimeo,
            Some(Duration::ZERO)
        );
        assert!(Options::parse(["closetimeo=soon"]).is_err());
    }

    #[test]
    fn global_and_access_lists() {
        let o = Options::parse(["global,allow_users=alice:1001,deny_groups=staff"]).unwrap();
        assert!(o.global);
        assert_eq!(o.allow_users, vec!["alice", "1001"]);
        assert_eq!(o.deny_groups, vec!["staff"]);
        assert!(Options::parse(["global"]).is_ok());
        let e = Options::parse(["global,file_mode=0666"]).unwrap_err();
        assert!(
            e.contains("file_mode=0666") && e.contains("file_mode=0664") && e.contains("allow_"),
            "{e}"
        );
        let e = Options::parse(["global,dir_mode=0777"]).unwrap_err();
        assert!(e.contains("dir_mode=0777"), "{e}");
        assert!(Options::parse(["global,file_mode=0666,allow_groups=users"]).is_ok());
        assert!(Options::parse(["file_mode=0666"]).is_ok());
        assert!(Options::parse(["allow_users="]).is_err());
        assert!(Options::parse(["allow_users=a::b"]).is_err());
    }

    #[test]
    fn credentials_from_file_and_environment() {
        let dir = std::env::temp_dir().join(format!("smb3fs-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("cred");
        std::fs::write(&f, "username=alice\npassword=s3cret=x\ndomain=CORP\n").unwrap();
        let o = Options::parse([format!("credentials={}", f.display()).as_str()]).unwrap();
        let c = o.credentials(&|_| None).unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str(), c.domain.as_str()),
            ("alice", "s3cret=x", "CORP")
        );

        let o = Options::parse(["username=bob"]).unwrap();
        let env = |k: &str| (k == "PASSWD").then(|| "pw".to_string());
        assert_eq!(o.credentials(&env).unwrap().password, "pw");
        let err = o.credentials(&|_| None).unwrap_err();
        assert!(err.contains("no password"), "{err}");
        let env = |k: &str| (k == "USER").then(|| "carol%pw2".to_string());
        let c = Options::default().credentials(&env).unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("carol", "pw2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
