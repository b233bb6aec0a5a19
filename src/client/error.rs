//! The client layer's one error type. The FUSE edge maps it to errno once (`fs::errno`).

use crate::auth::AuthError;
use crate::crypto::CryptoError;
use crate::proto::{NtStatus, ProtoError};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error(
        "cannot connect to {addr}: no answer within {secs} s (see the connect_timeout option)"
    )]
    ConnectTimeout { addr: String, secs: u64 },
    #[error("connection to the server lost: {0}")]
    Disconnected(String),
    #[error("the server did not answer {op} within {secs} s")]
    Timeout { op: &'static str, secs: u64 },
    #[error("malformed message from the server: {0}")]
    Protocol(#[from] ProtoError),
    #[error("unexpected answer from the server: {0}")]
    Unexpected(String),
    #[error("security check failed, connection dropped: {0}")]
    Security(String),
    #[error("decryption failed, connection dropped: {0}")]
    Crypto(#[from] CryptoError),
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    #[error("logon failed for user '{user}': {status} (check the user name, password and domain)")]
    LogonFailure { user: String, status: NtStatus },
    #[error(
        "the server offered a guest or anonymous session instead of logging on user '{user}'; \
         refused (the account is probably unknown to the server or the password is wrong)"
    )]
    GuestFallback { user: String },
    #[error("{0}")]
    Policy(String),
    #[error("share '{share}' does not exist on the server ({status})")]
    ShareNotFound { share: String, status: NtStatus },
    #[error("{op} '{path}': {status}")]
    Status {
        op: &'static str,
        path: String,
        status: NtStatus,
    },
}

impl ClientError {
    /// The server's status when the error is a refused operation.
    pub fn status(&self) -> Option<NtStatus> {
        match self {
            ClientError::Status { status, .. }
            | ClientError::ShareNotFound { status, .. }
            | ClientError::LogonFailure { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T> = core::result::Result<T, ClientError>;
