//! The one translation from client errors to errno values. Every FUSE reply goes through
//! [`errno`], so the mapping is in one place and unit-tested. Anything that means the session is
//! unusable (lost connection, timeout, failed signature or decryption, malformed message) is EIO:
//! the caller gets an error at once, never a hang.

use fuser::Errno;

use crate::client::ClientError;
use crate::proto::NtStatus;

/// errno for an NTSTATUS the server refused an operation with.
pub fn status_errno(status: NtStatus) -> Errno {
    match status {
        NtStatus::OBJECT_NAME_NOT_FOUND
        | NtStatus::OBJECT_PATH_NOT_FOUND
        | NtStatus::NO_SUCH_FILE => Errno::ENOENT,
        NtStatus::NOT_FOUND | NtStatus::DELETE_PENDING => Errno::ENOENT,
        NtStatus::OBJECT_NAME_COLLISION => Errno::EEXIST,
        NtStatus::DIRECTORY_NOT_EMPTY => Errno::ENOTEMPTY,
        NtStatus::ACCESS_DENIED | NtStatus::CANNOT_DELETE => Errno::EACCES,
        NtStatus::FILE_IS_A_DIRECTORY => Errno::EISDIR,
        NtStatus::NOT_A_DIRECTORY => Errno::ENOTDIR,
        NtStatus::DISK_FULL => Errno::ENOSPC,
        NtStatus::QUOTA_EXCEEDED => Errno::EDQUOT,
        NtStatus::SHARING_VIOLATION | NtStatus::FILE_LOCK_CONFLICT | NtStatus::LOCK_NOT_GRANTED => {
            Errno::EBUSY
        }
        NtStatus::MEDIA_WRITE_PROTECTED => Errno::EROFS,
        NtStatus::NAME_TOO_LONG => Errno::ENAMETOOLONG,
        NtStatus::OBJECT_NAME_INVALID
        | NtStatus::OBJECT_PATH_INVALID
        | NtStatus::OBJECT_PATH_SYNTAX_BAD
        | NtStatus::INVALID_PARAMETER
        | NtStatus::INVALID_INFO_CLASS
        | NtStatus::INFO_LENGTH_MISMATCH => Errno::EINVAL,
        NtStatus::NOT_SAME_DEVICE => Errno::EXDEV,
        NtStatus::NOT_SUPPORTED
        | NtStatus::NOT_IMPLEMENTED
        | NtStatus::INVALID_DEVICE_REQUEST
        | NtStatus::EAS_NOT_SUPPORTED => Errno::ENOTSUP,
        NtStatus::INSUFFICIENT_RESOURCES => Errno::ENOMEM,
        _ => Errno::EIO,
    }
}

/// errno for any client error.
pub fn errno(e: &ClientError) -> Errno {
    match e {
        ClientError::Status { status, .. } => status_errno(*status),
        ClientError::Policy(_) => Errno::EACCES,
        ClientError::LogonFailure { .. } | ClientError::GuestFallback { .. } => Errno::EACCES,
        ClientError::ShareNotFound { .. } => Errno::ENOENT,
        // Lost or unusable session: fail fast.
        _ => Errno::EIO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(status: NtStatus) -> ClientError {
        ClientError::Status {
            op: "test",
            path: "p".into(),
            status,
        }
    }

    #[test]
    fn statuses_map_to_posix_errors() {
        let cases = [
            (NtStatus::OBJECT_NAME_NOT_FOUND, Errno::ENOENT),
            (NtStatus::OBJECT_PATH_NOT_FOUND, Errno::ENOENT),
            (NtStatus::OBJECT_NAME_COLLISION, Errno::EEXIST),
            (NtStatus::DIRECTORY_NOT_EMPTY, Errno::ENOTEMPTY),
            (NtStatus::ACCESS_DENIED, Errno::EACCES),
            (NtStatus::FILE_IS_A_DIRECTORY, Errno::EISDIR),
            (NtStatus::NOT_A_DIRECTORY, Errno::ENOTDIR),
            (NtStatus::DISK_FULL, Errno::ENOSPC),
            (NtStatus::QUOTA_EXCEEDED, Errno::EDQUOT),
            (NtStatus::SHARING_VIOLATION, Errno::EBUSY),
            (NtStatus::MEDIA_WRITE_PROTECTED, Errno::EROFS),
            (NtStatus::NAME_TOO_LONG, Errno::ENAMETOOLONG),
            (NtStatus::OBJECT_NAME_INVALID, Errno::EINVAL),
            (NtStatus::INVALID_PARAMETER, Errno::EINVAL),
            (NtStatus::NOT_SAME_DEVICE, Errno::EXDEV),
            (NtStatus::NOT_SUPPORTED, Errno::ENOTSUP),
            (NtStatus::CANNOT_DELETE, Errno::EACCES),
            (NtStatus::DELETE_PENDING, Errno::ENOENT),
            (NtStatus(0xC0FF_FFFF), Errno::EIO),
        ];
        for (status, want) in cases {
            assert_eq!(errno(&st(status)), want, "{status:?}");
        }
    }

    #[test]
    fn session_failures_are_eio() {
        assert_eq!(
            errno(&ClientError::Disconnected("reset".into())),
            Errno::EIO
        );
        assert_eq!(
            errno(&ClientError::Timeout {
                op: "read",
                secs: 30
            }),
            Errno::EIO
        );
        assert_eq!(
            errno(&ClientError::Security("bad signature".into())),
            Errno::EIO
        );
        assert_eq!(errno(&ClientError::Unexpected("x".into())), Errno::EIO);
    }
}
