//! smb3fs: an SMB 3.1.1 client and a FUSE filesystem on top of it.
//!
//! Layers, from the wire up:
//! - [`proto`]: sans-I/O message codecs (no sockets, no tokio).
//! - [`crypto`]: key derivation, pre-authentication hash, signing and sealing.
//! - [`auth`]: NTLMv2 inside SPNEGO.
//! - [`client`]: the tokio connection, session, tree and file operations.
//! - [`fs`]: the FUSE filesystem and the `mount` command on top of the client.
//! - [`logging`]: standard error, or syslog for a detached mount daemon.

pub mod auth;
pub mod cache;
pub mod client;
pub mod config;
pub mod crypto;
pub mod fs;
pub mod logging;
pub mod proto;
