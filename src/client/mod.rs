//! The SMB client: one connection, one session, one share, and the file operations a filesystem
//! needs. Every method is safe to call from many tasks at once; requests are pipelined on the one
//! connection.

mod conn;
pub mod error;
mod notify;
mod ops;
pub mod options;
mod session;

use std::sync::Arc;

pub use conn::{PayloadBuf, RequestCounts};
pub use error::{ClientError, Result};
pub use notify::Notify;
pub use ops::{DirEntry, FileAttrs, FsStats, GrantedLease, OpenFile, OpenOptions, ReadData};
pub use options::ConnectOptions;
pub use session::SessionInfo;

use crate::proto::session::{LogoffRequest, LogoffResponse};
use crate::proto::tree::TreeDisconnectRequest;
use crate::proto::Body;
use conn::{Connection, Outgoing};

/// A logged-on session with a connected share. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Arc<Connection>,
    session_id: u64,
    tree_id: u32,
    info: SessionInfo,
    /// Largest read and write per request, within what the server allows.
    max_read: u32,
    max_write: u32,
    /// Output buffer for QUERY_DIRECTORY: 1 MiB, or less if the server says so.
    dir_buffer: u32,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner.info;
        write!(
            f,
            "Client(//{}/{}, session {:#x})",
            i.server, i.share, self.inner.session_id
        )
    }
}

impl Client {
    /// Connect, negotiate, log on and connect to the share named in `opts`.
    pub async fn connect(opts: &ConnectOptions) -> Result<Client> {
        let est = session::establish(opts).await?;
        let cap = |v: u32| v.clamp(64 * 1024, 8 * 1024 * 1024);
        let info = est.info;
        let multi_credit = info.dialect > crate::proto::negotiate::DIALECT_202;
        let (max_read, max_write) = if multi_credit {
            (cap(info.max_read_size), cap(info.max_write_size))
        } else {
            (
                info.max_read_size.min(65536),
                info.max_write_size.min(65536),
            )
        };
        let dir_buffer = info.max_transact_size.clamp(64 * 1024, 1024 * 1024);
        Ok(Client {
            inner: Arc::new(Inner {
                conn: est.conn,
                session_id: est.session_id,
                tree_id: est.tree_id,
                info,
                max_read,
                max_write,
                dir_buffer,
            }),
        })
    }

    /// What was negotiated.
    pub fn info(&self) -> &SessionInfo {
        &self.inner.info
    }

    /// False once the connection has been lost; every call then fails with `Disconnected`.
    pub fn is_connected(&self) -> bool {
        self.inner.conn.is_alive()
    }

    /// Requests sent on the connection so far.
    pub fn request_counts(&self) -> RequestCounts {
        self.inner.conn.request_counts()
    }

    pub fn max_read(&self) -> u32 {
        self.inner.max_read
    }

    pub fn max_write(&self) -> u32 {
        self.inner.max_write
    }

    /// Disconnect from the share and log off, then close the connection.
    pub async fn disconnect(&self) {
        let _ = self.call_raw(&TreeDisconnectRequest {}, 0).await;
        let _ = self
            .call_session(&LogoffRequest {})
            .await
            .map(|_: LogoffResponse| ());
        self.inner.conn.shutdown().await;
    }

    fn outgoing<B: Body>(&self, body: &B, payload: usize) -> Outgoing<'static> {
        let mut buf = Vec::with_capacity(128);
        body.encode(&mut buf);
        Outgoing {
            command: B::COMMAND,
            tree_id: self.inner.tree_id,
            related: false,
            body: buf,
            data: &[],
            in_place: None,
            payload,
        }
    }

    async fn call_raw<B: Body>(&self, body: &B, payload: usize) -> Result<conn::Response> {
        self.inner
            .conn
            .call(self.outgoing(body, payload), self.inner.session_id)
            .await
    }

    async fn call_session<B: Body, R: Body>(&self, body: &B) -> Result<R> {
        let resp = self.call_raw(body, 0).await?;
        if !resp.status().is_success() {
            return Err(ClientError::Status {
                op: conn::command_name(B::COMMAND),
                path: String::new(),
                status: resp.status(),
            });
        }
        Ok(R::decode(resp.body())?)
    }
}
