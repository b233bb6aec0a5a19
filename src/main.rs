//! The `smb3fs` command line.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use futures::{StreamExt, TryStreamExt};

use smb3fs::client::{Client, OpenOptions};
use smb3fs::config::{parse_target, Options, Target};
use smb3fs::proto::create::{FILE_NON_DIRECTORY_FILE, FILE_OVERWRITE_IF};

#[derive(Parser)]
#[command(
    name = "smb3fs",
    version,
    about = "SMB 3.1.1 client over an encrypted session, and a FUSE mount"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// //HOST[:PORT]/SHARE
    target: String,
    /// Comma-separated options (mount.cifs names): username=, credentials=FILE, domain=, port=,
    /// vers=, min_vers=, max_vers=, seal[=no], cipher=aes-128-gcm:..., connect_timeout=SECONDS.
    /// The password comes from the credentials file or $PASSWD, never from the command line.
    #[arg(short = 'o', value_name = "OPTIONS")]
    options: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Connect and print the negotiated dialect, cipher, signing and session flags.
    Info {
        #[command(flatten)]
        common: Common,
    },
    /// List a directory of the share.
    Ls {
        #[command(flatten)]
        common: Common,
        /// Directory inside the share (default: its root).
        #[arg(default_value = "/")]
        path: String,
    },
    /// Copy a file from the share to a local file ("-" for standard output).
    Get {
        #[command(flatten)]
        common: Common,
        remote: String,
        local: String,
    },
    /// Mount the share on MOUNTPOINT through FUSE. Without -f the command returns once the mount
    /// is ready (or exits 1 with the logon/mount error) and a background process serves it;
    /// unmount with `fusermount3 -u MOUNTPOINT` (or `umount` as root).
    ///
    /// Mount options (mount.cifs names): uid=, gid=, file_mode=, dir_mode=, ro, rw, actimeo=,
    /// acregmax=, acdirmax=, cache=strict/none, rasize=, drop_behind=, nolease, closetimeo=,
    /// write_through, allow_other, global, allow_users=, allow_groups=, deny_users=,
    /// deny_groups=, mapposix (default) / nomapposix, dircache_max=, notify_max=, plus the
    /// connection options above.
    Mount {
        #[command(flatten)]
        common: Common,
        /// Directory to mount on.
        mountpoint: std::path::PathBuf,
        /// Stay in the foreground (Ctrl-C unmounts).
        #[arg(short = 'f')]
        foreground: bool,
    },
    /// Show what a mount is connected to: server, share, dialect, cipher, and whether the
    /// session is up (read from the mount root's `user.smb3fs.status` attribute).
    Status {
        /// The mount point.
        mountpoint: std::path::PathBuf,
    },
    /// Copy a local file ("-" for standard input) to the share.
    Put {
        #[command(flatten)]
        common: Common,
        local: String,
        remote: String,
        /// Ask the server to write through to its disk before answering each write.
        #[arg(long)]
        write_through: bool,
    },
}

type CliResult<T> = Result<T, String>;

fn main() -> ExitCode {
    smb3fs::logging::init();
    // As a mount(8) helper (/sbin/mount.fuse.smb3fs or mount.smb3fs -> smb3fs):
    // `SOURCE MOUNTPOINT [-o OPTIONS] [-n] [-s] [-v]`.
    let argv: Vec<String> = std::env::args().collect();
    let prog = argv
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_default();
    if prog == "mount.fuse.smb3fs" || prog == "mount.smb3fs" {
        return match smb3fs::fs::mount::helper_args(&argv[1..]) {
            Ok(args) => exit(smb3fs::fs::mount::run(args)),
            Err(e) => {
                eprintln!("{prog}: {e}");
                ExitCode::from(1)
            }
        };
    }
    let cli = Cli::parse();
    if let Command::Status { mountpoint } = &cli.command {
        return match status(mountpoint) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("smb3fs: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::Mount {
        common,
        mountpoint,
        foreground,
    } = cli.command
    {
        let args = smb3fs::fs::mount::MountArgs {
            target: common.target,
            mountpoint,
            options: common.options,
            foreground,
        };
        return exit(smb3fs::fs::mount::run(args));
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("smb3fs: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smb3fs: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The status text of the smb3fs mount at `mountpoint`.
fn status(mountpoint: &std::path::Path) -> CliResult<String> {
    use std::os::unix::ffi::OsStrExt;
    let shown = mountpoint.display();
    let path = std::ffi::CString::new(mountpoint.as_os_str().as_bytes())
        .map_err(|_| format!("{shown}: bad path"))?;
    let name = std::ffi::CString::new(smb3fs::fs::STATUS_XATTR).expect("no NUL");
    let mut buf = vec![0u8; 4096];
    // SAFETY: path and name are NUL-terminated; buf has buf.len() writable bytes.
    let n = unsafe {
        libc::getxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::ENOTSUP) | Some(libc::ENODATA) => {
                format!("{shown} is not the root of an smb3fs mount")
            }
            _ => format!("{shown}: {e}"),
        });
    }
    buf.truncate(n as usize);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(code.clamp(0, 255) as u8)
}

async fn connect(common: &Common) -> CliResult<(Client, Options, Target)> {
    let target = parse_target(&common.target)?;
    let opts = Options::parse(common.options.iter().map(String::as_str))?;
    let creds = opts.credentials(&|k| std::env::var(k).ok())?;
    let connect = opts.connect_options(&target, creds)?;
    let client = Client::connect(&connect).await.map_err(|e| e.to_string())?;
    Ok((client, opts, target))
}

async fn run(cli: Cli) -> CliResult<()> {
    match cli.command {
        Command::Info { common } => {
            let (client, _, target) = connect(&common).await?;
            let i = client.info();
            println!(
                "server:        {}:{}",
                target.host,
                target.port.unwrap_or(445)
            );
            println!("share:         {}", i.share);
            println!("dialect:       {}", i.dialect_name());
            println!(
                "cipher:        {}",
                i.cipher.map(|c| c.name()).unwrap_or("none")
            );
            println!(
                "encrypted:     {}",
                if i.encrypted {
                    "yes (every message after logon)"
                } else {
                    "no"
                }
            );
            println!("signing:       {}", i.signing.name());
            println!(
                "session flags: {:#06x}{}",
                i.session_flags,
                session_flag_names(i.session_flags)
            );
            println!("share flags:   {:#010x}", i.share_flags);
            println!("max read:      {}", i.max_read_size);
            println!("max write:     {}", i.max_write_size);
            client.disconnect().await;
        }
        Command::Ls { common, path } => {
            let (client, _, _) = connect(&common).await?;
            let mut entries = client.list_dir(&path).await.map_err(|e| e.to_string())?;
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            let mut out = std::io::stdout().lock();
            for e in entries {
                let kind = if e.attrs.is_dir() { 'd' } else { '-' };
                let _ = writeln!(out, "{kind} {:>12} {}", e.attrs.size, e.name);
            }
            client.disconnect().await;
        }
        Command::Get {
            common,
            remote,
            local,
        } => {
            let (client, _, _) = connect(&common).await?;
            let r = get(&client, &remote, &local).await;
            client.disconnect().await;
            r?;
        }
        Command::Mount { .. } | Command::Status { .. } => {
            unreachable!("handled before the runtime starts")
        }
        Command::Put {
            common,
            local,
            remote,
            write_through,
        } => {
            let (client, opts, _) = connect(&common).await?;
            let r = put(
                &client,
                &local,
                &remote,
                write_through || opts.write_through,
            )
            .await;
            client.disconnect().await;
            r?;
        }
    }
    Ok(())
}

fn session_flag_names(flags: u16) -> String {
    let mut names = Vec::new();
    for (bit, name) in [(1, "guest"), (2, "null"), (4, "encrypt-data")] {
        if flags & bit != 0 {
            names.push(name);
        }
    }
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join(", "))
    }
}

/// Requests kept in flight by `get` and `put`.
const WINDOW: usize = 8;

async fn get(client: &Client, remote: &str, local: &str) -> CliResult<()> {
    let file = client
        .open(remote, &OpenOptions::read())
        .await
        .map_err(|e| e.to_string())?;
    let result = async {
        let size = file.attrs.size;
        let chunk = client.max_read() as u64;
        let mut out: Box<dyn Write> = if local == "-" {
            Box::new(std::io::stdout().lock())
        } else {
            Box::new(
                std::fs::File::create(local).map_err(|e| format!("cannot create {local}: {e}"))?,
            )
        };
        let reads = futures::stream::iter(0..size.div_ceil(chunk))
            .map(|i| {
                let len = (size - i * chunk).min(chunk) as u32;
                client.read(file.file_id, i * chunk, len)
            })
            .buffered(WINDOW);
        futures::pin_mut!(reads);
        while let Some(data) = reads.next().await {
            let data = data.map_err(|e| e.to_string())?;
            out.write_all(&data)
                .map_err(|e| format!("writing {local}: {e}"))?;
        }
        out.flush().map_err(|e| format!("writing {local}: {e}"))
    }
    .await;
    let closed = client.close(file.file_id).await.map_err(|e| e.to_string());
    result.and(closed)
}

async fn put(client: &Client, local: &str, remote: &str, write_through: bool) -> CliResult<()> {
    let mut input: Box<dyn Read> = if local == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(local).map_err(|e| format!("cannot open {local}: {e}"))?)
    };
    let o = OpenOptions::read_write()
        .disposition(FILE_OVERWRITE_IF)
        .options(FILE_NON_DIRECTORY_FILE);
    let file = client.open(remote, &o).await.map_err(|e| e.to_string())?;
    let chunk = client.max_write() as usize;
    let mut offset = 0u64;
    let mut read_error = None;
    let chunks = std::iter::from_fn(|| {
        let mut buf = vec![0u8; chunk];
        let mut filled = 0;
        while filled < chunk {
            match input.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    read_error = Some(format!("reading {local}: {e}"));
                    return None;
                }
            }
        }
        if filled == 0 {
            return None;
        }
        buf.truncate(filled);
        let at = offset;
        offset += filled as u64;
        Some((at, buf))
    });
    let written = futures::stream::iter(chunks)
        .map(|(at, buf)| async move { client.write(file.file_id, at, &buf, write_through).await })
        .buffer_unordered(WINDOW)
        .try_for_each(|_| async { Ok(()) })
        .await
        .map_err(|e| e.to_string());
    let closed = client.close(file.file_id).await.map_err(|e| e.to_string());
    written?;
    if let Some(e) = read_error {
        return Err(e);
    }
    closed
}
