//! Where log records go: standard error (env_logger, filtered by `RUST_LOG`) while someone may
//! be watching it, and syslog once a mount daemon has detached, as other FUSE daemons do
//! (sshfs), since its standard error then leads nowhere. `journalctl -t smb3fs` shows them on
//! systemd machines. The filter stays the same: `RUST_LOG`, by default warnings and errors.
//!
//! Records never carry secrets: the layers below log no password, key or hash.

use std::sync::{Mutex, OnceLock};

use log::{Level, Log, Metadata, Record};
use syslog::{Facility, Formatter3164, LoggerBackend};

/// The syslog socket: `/dev/log` unless this variable names another (tests use their own).
pub const SYSLOG_SOCKET_ENV: &str = "SMB3FS_SYSLOG_SOCKET";
const DEFAULT_SYSLOG_SOCKET: &str = "/dev/log";

type SyslogWriter = syslog::Logger<LoggerBackend, Formatter3164>;

struct Logger {
    /// The filter, and the destination until `syslog` is set.
    stderr: env_logger::Logger,
    syslog: Mutex<Option<SyslogWriter>>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Install the logger (once, at start): records go to standard error.
pub fn init() {
    let logger = LOGGER.get_or_init(|| Logger {
        stderr: env_logger::Builder::from_env(
            env_logger::Env::default().default_filter_or("warn,fuser=error"),
        )
        .build(),
        syslog: Mutex::new(None),
    });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(logger.stderr.filter());
    }
}

/// From now on records go to syslog (a daemon that detached from its terminal). Returns why not,
/// when no syslog socket answers; records are then dropped, as standard error is gone.
pub fn to_syslog() -> Result<(), String> {
    let Some(logger) = LOGGER.get() else {
        return Err("no logger installed".into());
    };
    let path = std::env::var(SYSLOG_SOCKET_ENV).unwrap_or_else(|_| DEFAULT_SYSLOG_SOCKET.into());
    if !std::path::Path::new(&path).exists() {
        return Err(format!("nothing listens on {path}"));
    }
    let formatter = Formatter3164 {
        facility: Facility::LOG_DAEMON,
        hostname: None,
        process: "smb3fs".into(),
        pid: std::process::id(),
    };
    let writer = syslog::unix_custom(formatter, &path).map_err(|e| format!("{path}: {e}"))?;
    *logger.syslog.lock().unwrap_or_else(|p| p.into_inner()) = Some(writer);
    Ok(())
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.stderr.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        if !self.stderr.matches(record) {
            return;
        }
        let mut guard = self.syslog.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = guard.as_mut() else {
            drop(guard);
            self.stderr.log(record);
            return;
        };
        let msg = format!("{}: {}", record.target(), record.args());
        // A syslog that went away cannot be told so; the record is lost, as on a closed stderr.
        let _ = match record.level() {
            Level::Error => w.err(msg),
            Level::Warn => w.warning(msg),
            Level::Info => w.info(msg),
            Level::Debug | Level::Trace => w.debug(msg),
        };
    }

    fn flush(&self) {
        self.stderr.flush();
    }
}
