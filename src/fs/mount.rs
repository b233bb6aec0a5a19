//! `smb3fs mount`: connect, mount, serve until unmounted.
//!
//! Daemon mode (the default, as mount(8) expects from a helper) must still report a failed logon
//! or mount with a non-zero exit. So the parent does not fork after the fact: it re-executes
//! itself in foreground mode (`-f`) with `SMB3FS_READY_FD` naming the write end of a pipe. The
//! child starts its own session (setsid), connects, mounts, then writes `READY` (or `ERROR …`)
//! to the pipe and detaches its standard streams; the parent prints the error and exits 1, or
//! exits 0 once the mount is ready. The password never appears in argv: it travels in the
//! credentials file or the environment.
//!
//! Ctrl-C, SIGTERM and SIGHUP unmount (lazily if the mount is busy) and exit 0; an external
//! `fusermount3 -u` ends the FUSE session and so the process.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fuser::{Config, MountOption, SessionACL};

use super::access::AccessLists;
use super::sysmount;
use super::{FsConfig, Smb3Fs};
use crate::client::Client;
use crate::config::{parse_target, Options};

const READY_FD_ENV: &str = "SMB3FS_READY_FD";

/// Kernel read-ahead asked for when `rasize` is not given: 4 MiB measured 1.4x faster than the
/// kernel's 128 KiB for a 1 GiB sequential read (fewer, 1 MiB FUSE requests).
const DEFAULT_RASIZE: u64 = 4 * 1024 * 1024;

/// Options mount(8) adds on its own, meaningless for this filesystem; accepted and ignored.
const GENERIC: [&str; 13] = [
    "rw", "nodev", "nosuid", "noexec", "exec", "suid", "dev", "_netdev", "noauto", "auto", "user",
    "users", "defaults",
];

/// Drop mount(8)'s generic options (and `nofail`, `x-*`, `comment=`) from `-o` lists.
pub fn strip_generic(lists: &[String]) -> Vec<String> {
    lists
        .iter()
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .filter(|o| {
                    !GENERIC.contains(o)
                        && *o != "nofail"
                        && !o.starts_with("x-")
                        && !o.starts_with("comment=")
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// What to mount; built by the `mount` subcommand or the mount(8) helper.
#[derive(Debug, Clone)]
pub struct MountArgs {
    pub target: String,
    pub mountpoint: PathBuf,
    pub options: Vec<String>,
    pub foreground: bool,
}

/// Parse `SOURCE MOUNTPOINT [-o OPTS] [-n] [-s] [-v] [-f]` as mount(8) passes them to a helper.
pub fn helper_args(args: &[String]) -> Result<MountArgs, String> {
    let mut pos = Vec::new();
    let mut options = Vec::new();
    let mut foreground = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-o" => options.push(it.next().ok_or("-o needs a value")?.clone()),
            "-n" | "-s" | "-v" => {}
            "-f" => foreground = true,
            s if s.starts_with("-o") => options.push(s[2..].to_string()),
            s if s.starts_with('-') => return Err(format!("unknown flag {s}")),
            _ => pos.push(a.clone()),
        }
    }
    match <[String; 2]>::try_from(pos) {
        Ok([target, mountpoint]) => Ok(MountArgs {
            target,
            mountpoint: mountpoint.into(),
            options,
            foreground,
        }),
        Err(_) => Err(
            "usage: mount.smb3fs //HOST[:PORT]/SHARE MOUNTPOINT [-o OPTIONS] [-n] [-s] [-v]".into(),
        ),
    }
}

/// Run the mount command; returns the process exit status.
pub fn run(mut args: MountArgs) -> i32 {
    // The kernel records the mount point as an absolute path; finding our mount in
    // /proc/self/mountinfo (its device for `rasize`, the unmount at exit) compares with it, and
    // `ps` then shows which directory a daemon serves.
    if let Ok(abs) = std::fs::canonicalize(&args.mountpoint) {
        args.mountpoint = abs;
    }
    let ready_fd = std::env::var(READY_FD_ENV)
        .ok()
        .and_then(|v| v.parse::<RawFd>().ok());
    if let Some(fd) = ready_fd {
        std::env::remove_var(READY_FD_ENV);
        // SAFETY: the parent created this pipe end for us and nothing else owns it.
        let pipe = unsafe { std::fs::File::from_raw_fd(fd) };
        // SAFETY: setsid has no memory-safety preconditions.
        unsafe { libc::setsid() };
        return foreground(args, Some(pipe));
    }
    if args.foreground {
        return foreground(args, None);
    }
    match daemonize(&args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("smb3fs: {e}");
            1
        }
    }
}

fn daemonize(args: &MountArgs) -> Result<(), String> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for the two descriptors pipe() writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    let (r, w) = (fds[0], fds[1]);
    // SAFETY: r is ours; the child must not inherit the read end.
    unsafe { libc::fcntl(r, libc::F_SETFD, libc::FD_CLOEXEC) };
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("mount")
        .arg(&args.target)
        .arg(&args.mountpoint)
        .arg("-f");
    for o in &args.options {
        cmd.arg("-o").arg(o);
    }
    cmd.env(READY_FD_ENV, w.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    let spawned = cmd.spawn();
    // SAFETY: w was created above and is closed exactly once, here.
    unsafe { libc::close(w) };
    let mut child = spawned.map_err(|e| format!("cannot start the mount process: {e}"))?;
    // SAFETY: r was created above and is owned by this File from now on.
    let mut pipe = unsafe { std::fs::File::from_raw_fd(r) };
    let mut msg = String::new();
    let _ = pipe.read_to_string(&mut msg);
    if msg.starts_with("READY") {
        return Ok(());
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    match msg.strip_prefix("ERROR ") {
        Some(e) => Err(e.trim_end().to_string()),
        None => Err(format!(
            "the mount process exited ({status}) before the mount was ready"
        )),
    }
}

fn report(pipe: &mut Option<std::fs::File>, result: Result<(), String>) -> i32 {
    let code = match &result {
        Ok(()) => 0,
        Err(e) => {
            if pipe.is_none() {
                eprintln!("smb3fs: {e}");
            }
            1
        }
    };
    if let Some(mut p) = pipe.take() {
        let line = match result {
            Ok(()) => "READY\n".to_string(),
            Err(e) => format!("ERROR {e}\n"),
        };
        let _ = p.write_all(line.as_bytes());
    }
    code
}

/// Why a mount shared with other users (`global`, `allow_other`) cannot be made by this user,
/// if it cannot.
fn shared_mount_refusal(opts: &Options, permitted: bool) -> Option<String> {
    if permitted {
        return None;
    }
    let what = match (opts.global, opts.allow_other) {
        (true, _) => "global",
        (false, true) => "allow_other",
        (false, false) => return None,
    };
    Some(format!(
        "{what}: only root may let other users into a FUSE mount unless /etc/fuse.conf has a \
         line 'user_allow_other'; add that line to /etc/fuse.conf (as root) or mount as root"
    ))
}

fn allow_other_permitted() -> bool {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    std::fs::read_to_string("/etc/fuse.conf")
        .map(|t| t.lines().any(|l| l.trim() == "user_allow_other"))
        .unwrap_or(false)
}

fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors, which we own.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

fn foreground(args: MountArgs, mut ready: Option<std::fs::File>) -> i32 {
    let daemon = ready.is_some();
    let setup = (|| -> Result<_, String> {
        let target = parse_target(&args.target)?;
        let lists = strip_generic(&args.options);
        let opts = Options::parse(lists.iter().map(String::as_str))?;
        if !args.mountpoint.is_dir() {
            return Err(format!(
                "mount point {} is not a directory",
                args.mountpoint.display()
            ));
        }
        if let Some(e) = shared_mount_refusal(&opts, allow_other_permitted()) {
            return Err(e);
        }
        let access = AccessLists::resolve(&opts)?;
        let creds = opts.credentials(&|k| std::env::var(k).ok())?;
        let connect = opts.connect_options(&target, creds)?;
        limit_malloc_arenas();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(3)
            .thread_name("smb3fs-io")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        let client = rt
            .block_on(Client::connect(&connect))
            .map_err(|e| e.to_string())?;
        let root = rt
            .block_on(client.stat(""))
            .map_err(|e| format!("cannot read the share's root: {e}"))?;
        Ok((target, opts, rt, client, root, access))
    })();
    let (target, opts, rt, client, root, access) = match setup {
        Ok(v) => v,
        Err(e) => return report(&mut ready, Err(e)),
    };
    let mut cfg = FsConfig::from_options(&opts);
    cfg.access = access;
    cfg.server = format!(
        "{}:{}",
        target.host,
        opts.port.or(target.port).unwrap_or(445)
    );
    let fs = Smb3Fs::new(client.clone(), rt.handle().clone(), root, cfg);
    let notifier_slot = fs.notifier_slot();
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName(format!("//{}/{}", target.host, target.share)),
        MountOption::Subtype("smb3fs".into()),
        MountOption::NoDev,
        MountOption::NoSuid,
        if opts.read_only {
            MountOption::RO
        } else {
            MountOption::RW
        },
    ];
    if opts.allow_other || opts.global {
        config.acl = SessionACL::All;
    }
    if opts.global {
        // The kernel checks every access against the uid/gid/modes the mount presents.
        config.mount_options.push(MountOption::DefaultPermissions);
    }
    config.n_threads = Some(3);
    let source = format!("//{}/{}", target.host, target.share);
    let mounted = open_session(fs, &args.mountpoint, &config, &source, &opts);
    let (session, mut unmounter) = match mounted {
        Ok(s) => s,
        Err(e) => {
            rt.block_on(client.disconnect());
            return report(
                &mut ready,
                Err(format!(
                    "cannot mount on {}: {e}",
                    args.mountpoint.display()
                )),
            );
        }
    };
    // Our mount's device, to tell it from a later mount on the same directory.
    let own_device = match unmounter {
        Unmounter::Own(_) => sysmount::mounted_device(&args.mountpoint),
        Unmounter::Fuser(_) => None,
    };
    let rasize = opts.rasize.unwrap_or(DEFAULT_RASIZE);
    if rasize > 0 {
        if let Err(e) = sysmount::set_read_ahead(&args.mountpoint, rasize) {
            // Not root: the kernel's 128 KiB read-ahead stays; reads still work.
            log::debug!("cannot set the mount's read-ahead to {rasize} bytes: {e}");
        }
    }
    notifier_slot.install(session.notifier());
    let mountpoint = args.mountpoint.clone();
    rt.spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = hup.recv() => {}
        }
        log::info!("signal received, unmounting {}", mountpoint.display());
        let done = tokio::task::spawn_blocking(move || {
            if let Err(e) = unmounter.unmount() {
                log::warn!("unmount failed ({e}); detaching lazily");
                lazy_unmount(&mountpoint);
            }
        });
        let _ = done.await;
    });
    if daemon {
        // Standard error is about to lead nowhere: from here on, logs go to syslog.
        if let Err(e) = crate::logging::to_syslog() {
            log::warn!(
                "no syslog ({e}): the mount daemon's logs are discarded; mount with -f to see them"
            );
        }
    }
    log::info!("mounted {} on {}", args.target, args.mountpoint.display());
    report(&mut ready, Ok(()));
    if daemon {
        detach_stdio();
    }
    let served = session.run();
    if served.is_err() && own_device.is_some() {
        // The session ended without an unmount (an error): do not leave a dead mount behind.
        // Only if it is still ours: after an unmount, a new mount may already sit there.
        if sysmount::mounted_device(&args.mountpoint) == own_device {
            let _ = sysmount::unmount(&args.mountpoint);
        }
    }
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(5), client.disconnect()).await;
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    match served {
        Ok(()) => {
            log::info!("unmounted {}", args.mountpoint.display());
            0
        }
        Err(e) => {
            if daemon {
                log::error!("FUSE session on {} ended: {e}", args.mountpoint.display());
            } else {
                eprintln!("smb3fs: FUSE session ended: {e}");
            }
            1
        }
    }
}

/// glibc gives each thread that allocates its own heap arena; memory freed in one (a big
/// listing decoded on one worker thread, cached by another) cannot serve the others. With the
/// six threads a mount runs, a 200,000-entry listing left the daemon at 72.5 MiB resident; with
/// two arenas, 57.9 MiB. Two arenas alone slowed a 1 GiB read by a fifth: freed 4 MiB read
/// buffers were trimmed and the next ones faulted in again. So I/O buffers up to 9 MiB (a
/// gathered 8 MiB write with its headers) stay on the heap and up to 32 MiB of free heap is kept
/// per arena; fuser's 16 MiB request buffers are still mapped lazily.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before the runtime's threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 9 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 32 << 20);
    }
}

/// How this process unmounts: through fuser (which mounted with fusermount3 or mount(2)), or
/// with umount2 when it mounted as root itself.
enum Unmounter {
    Fuser(fuser::SessionUnmounter),
    Own(PathBuf),
}

impl Unmounter {
    fn unmount(&mut self) -> std::io::Result<()> {
        match self {
            Unmounter::Fuser(u) => u.unmount(),
            Unmounter::Own(mp) => sysmount::unmount(mp),
        }
    }
}

/// Mount and start the FUSE session. As root, mount(2) is called here so the mount's type is
/// `fuse.smb3fs` (see [`sysmount`]); otherwise, or if that is refused (no CAP_SYS_ADMIN in a
/// user namespace), fuser mounts through fusermount3.
fn open_session(
    fs: Smb3Fs,
    mountpoint: &Path,
    config: &Config,
    source: &str,
    opts: &Options,
) -> std::io::Result<(fuser::Session<Smb3Fs>, Unmounter)> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        let req = sysmount::MountRequest {
            source,
            read_only: opts.read_only,
            allow_other: config.acl != SessionACL::Owner,
            default_permissions: opts.global,
        };
        match sysmount::mount(mountpoint, &req) {
            Ok(fd) => {
                return match fuser::Session::from_fd(fs, fd, config.acl, config.clone()) {
                    Ok(s) => Ok((s, Unmounter::Own(mountpoint.to_path_buf()))),
                    Err(e) => {
                        let _ = sysmount::unmount(mountpoint);
                        Err(e)
                    }
                };
            }
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                log::info!("mount(2) refused ({e}); mounting through fusermount3");
            }
            Err(e) => return Err(e),
        }
    }
    let mut session = fuser::Session::new(fs, mountpoint, config)?;
    let unmounter = Unmounter::Fuser(session.unmount_callable());
    Ok((session, unmounter))
}

fn lazy_unmount(mountpoint: &Path) {
    for bin in ["fusermount3", "fusermount"] {
        if let Ok(s) = std::process::Command::new(bin)
            .arg("-u")
            .arg("-z")
            .arg(mountpoint)
            .status()
        {
            if s.success() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_mount_options_are_ignored() {
        let l = strip_generic(&[
            "rw,nodev,nosuid,_netdev,noauto,user,users,defaults,credentials=/x,uid=5".into(),
            "noexec".into(),
        ]);
        assert_eq!(l, vec!["credentials=/x,uid=5".to_string()]);
        let o = Options::parse(l.iter().map(String::as_str)).unwrap();
        assert_eq!(o.uid, Some(5));
        // user=NAME is the user name, not the generic flag.
        assert_eq!(
            strip_generic(&["user=bob".into()]),
            vec!["user=bob".to_string()]
        );
    }

    #[test]
    fn shared_mounts_need_user_allow_other() {
        let g = Options::parse(["global"]).unwrap();
        let e = shared_mount_refusal(&g, false).unwrap();
        assert!(
            e.starts_with("global:")
                && e.contains("user_allow_other")
                && e.contains("/etc/fuse.conf"),
            "{e}"
        );
        assert!(shared_mount_refusal(&g, true).is_none());
        let a = Options::parse(["allow_other"]).unwrap();
        assert!(shared_mount_refusal(&a, false)
            .unwrap()
            .starts_with("allow_other:"));
        assert!(shared_mount_refusal(&Options::default(), false).is_none());
    }

    #[test]
    fn helper_arguments() {
        let a: Vec<String> = ["//h/s", "/mnt", "-o", "ro,uid=1", "-n", "-v"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = helper_args(&a).unwrap();
        assert_eq!(
            (
                m.target.as_str(),
                m.mountpoint.to_str().unwrap(),
                m.options.clone(),
                m.foreground
            ),
            ("//h/s", "/mnt", vec!["ro,uid=1".to_string()], false)
        );
        assert!(helper_args(&a[..1]).is_err());
        assert!(helper_args(&["//h/s".into(), "/m".into(), "-x".into()]).is_err());
    }
}
