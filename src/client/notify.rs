//! Directory change notification: a directory handle opened for watching, and CHANGE_NOTIFY
//! requests on it ([MS-SMB2] 3.2.4.14).
//!
//! The server keeps a CHANGE_NOTIFY pending (after an interim STATUS_PENDING response) until
//! something changes in the directory, which may be hours, so it is sent without the request
//! timeout; it still fails at once when the connection is lost. Between two requests on one
//! handle the server buffers the changes, so a watcher that re-arms at once misses nothing (an
//! overflow is reported as [`Notify::Overflow`]). Closing the handle completes the pending
//! request with STATUS_NOTIFY_CLEANUP ([`Notify::Closed`]).

use std::future::Future;

use super::error::{ClientError, Result};
use super::ops::{create_request, OpenOptions};
use super::Client;
use crate::proto::create::{
    CreateResponse, FileId, FILE_DIRECTORY_FILE, FILE_LIST_DIRECTORY, SYNCHRONIZE,
};
use crate::proto::notify::{
    parse_file_notify_information, ChangeNotifyRequest, ChangeNotifyResponse, FileNotifyInformation,
};
use crate::proto::{Body, NtStatus};

/// What one CHANGE_NOTIFY reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify {
    /// These names changed (FILE_NOTIFY_INFORMATION records, in order).
    Changes(Vec<FileNotifyInformation>),
    /// Too many changes to report one by one (STATUS_NOTIFY_ENUM_DIR, an empty buffer, or
    /// records that do not decode): anything in the directory may have changed.
    Overflow,
    /// The handle was closed (STATUS_NOTIFY_CLEANUP): the watch is over.
    Closed,
}

impl Client {
    /// Open the directory at `path` for watching: FILE_LIST_DIRECTORY | SYNCHRONIZE, sharing
    /// read, write and delete, so the handle stands in nobody's way. Close it with
    /// [`Client::close`].
    pub async fn open_watch(&self, path: &str) -> Result<FileId> {
        let o = OpenOptions::read()
            .access(FILE_LIST_DIRECTORY | SYNCHRONIZE)
            .options(FILE_DIRECTORY_FILE);
        let resp = self.call_raw(&create_request(path, &o), 0).await?;
        if !resp.status().is_success() {
            return Err(ClientError::Status {
                op: "watch",
                path: path.to_string(),
                status: resp.status(),
            });
        }
        let c = CreateResponse::decode(resp.body())?;
        Ok(c.file_id)
    }

    /// Send a CHANGE_NOTIFY on the watch handle `file_id` for the changes in `filter`
    /// (`FILE_NOTIFY_CHANGE_*`), of the directory itself only (no WATCH_TREE), with an output
    /// buffer of `buffer` bytes. Returns once the request is on the wire (a request sent after
    /// that reaches the server after the watch is in place); the returned future resolves when
    /// the server reports changes, with no time limit.
    pub async fn change_notify(
        &self,
        file_id: FileId,
        filter: u32,
        buffer: u32,
    ) -> Result<impl Future<Output = Result<Notify>> + Send + 'static> {
        let req = ChangeNotifyRequest {
            flags: 0,
            output_buffer_length: buffer,
            file_id,
            completion_filter: filter,
        };
        let resp = self
            .inner
            .conn
            .submit_untimed(self.outgoing(&req, buffer as usize), self.inner.session_id)
            .await?;
        Ok(async move {
            let resp = resp.await?;
            interpret(resp.status(), resp.body())
        })
    }
}

/// The outcome of a CHANGE_NOTIFY from its status and body.
fn interpret(status: NtStatus, body: &[u8]) -> Result<Notify> {
    match status {
        NtStatus::NOTIFY_CLEANUP | NtStatus::CANCELLED => Ok(Notify::Closed),
        NtStatus::NOTIFY_ENUM_DIR => Ok(Notify::Overflow),
        s if s.is_success() => {
            let records = ChangeNotifyResponse::decode(body)
                .ok()
                .and_then(|r| parse_file_notify_information(&r.buffer).ok());
            Ok(match records {
                Some(v) if !v.is_empty() => Notify::Changes(v),
                _ => Notify::Overflow,
            })
        }
        status => Err(ClientError::Status {
            op: "change notify",
            path: String::new(),
            status,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::notify::*;

    fn body(records: &[FileNotifyInformation]) -> Vec<u8> {
        let mut out = Vec::new();
        ChangeNotifyResponse {
            buffer: encode_file_notify_information(records),
        }
        .encode(&mut out);
        out
    }

    #[test]
    fn outcomes() {
        let recs = vec![
            FileNotifyInformation {
                action: FILE_ACTION_ADDED,
                file_name: "new.txt".into(),
            },
            FileNotifyInformation {
                action: FILE_ACTION_RENAMED_OLD_NAME,
                file_name: "a".into(),
            },
            FileNotifyInformation {
                action: FILE_ACTION_RENAMED_NEW_NAME,
                file_name: "b".into(),
            },
        ];
        assert_eq!(
            interpret(NtStatus::SUCCESS, &body(&recs)).unwrap(),
            Notify::Changes(recs)
        );
        assert_eq!(
            interpret(NtStatus::SUCCESS, &body(&[])).unwrap(),
            Notify::Overflow
        );
        // A broken chain: NextEntryOffset past the end.
        let mut bad = encode_file_notify_information(&[FileNotifyInformation {
            action: FILE_ACTION_ADDED,
            file_name: "x".into(),
        }]);
        bad[0] = 200;
        let mut b = Vec::new();
        ChangeNotifyResponse { buffer: bad }.encode(&mut b);
        assert_eq!(interpret(NtStatus::SUCCESS, &b).unwrap(), Notify::Overflow);
        assert_eq!(
            interpret(NtStatus::SUCCESS, &[1, 2]).unwrap(),
            Notify::Overflow
        );
        assert_eq!(
            interpret(NtStatus::NOTIFY_ENUM_DIR, &[]).unwrap(),
            Notify::Overflow
        );
        assert_eq!(
            interpret(NtStatus::NOTIFY_CLEANUP, &[]).unwrap(),
            Notify::Closed
        );
        let e = interpret(NtStatus::ACCESS_DENIED, &[]).unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::ACCESS_DENIED));
    }
}
