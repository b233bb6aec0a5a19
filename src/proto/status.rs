//! NTSTATUS codes ([MS-ERREF] 2.3.1) as carried in the SMB2 header's Status field.
//!
//! A newtype rather than an enum: servers may send any 32-bit value and we must carry
//! unknown ones through unchanged; the named constants cover what the client reacts to.

use core::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NtStatus(pub u32);

impl NtStatus {
    pub const SUCCESS: NtStatus = NtStatus(0x00000000);
    pub const PENDING: NtStatus = NtStatus(0x00000103);
    pub const NOTIFY_CLEANUP: NtStatus = NtStatus(0x0000010B);
    pub const NOTIFY_ENUM_DIR: NtStatus = NtStatus(0x0000010C);
    pub const BUFFER_OVERFLOW: NtStatus = NtStatus(0x80000005);
    pub const NO_MORE_FILES: NtStatus = NtStatus(0x80000006);
    pub const STOPPED_ON_SYMLINK: NtStatus = NtStatus(0x8000002D);
    pub const UNSUCCESSFUL: NtStatus = NtStatus(0xC0000001);
    pub const NOT_IMPLEMENTED: NtStatus = NtStatus(0xC0000002);
    pub const INVALID_INFO_CLASS: NtStatus = NtStatus(0xC0000003);
    pub const INFO_LENGTH_MISMATCH: NtStatus = NtStatus(0xC0000004);
    pub const ACCESS_VIOLATION: NtStatus = NtStatus(0xC0000005);
    pub const INVALID_HANDLE: NtStatus = NtStatus(0xC0000008);
    pub const INVALID_PARAMETER: NtStatus = NtStatus(0xC000000D);
    pub const NO_SUCH_FILE: NtStatus = NtStatus(0xC000000F);
    pub const INVALID_DEVICE_REQUEST: NtStatus = NtStatus(0xC0000010);
    pub const END_OF_FILE: NtStatus = NtStatus(0xC0000011);
    pub const MORE_PROCESSING_REQUIRED: NtStatus = NtStatus(0xC0000016);
    pub const ACCESS_DENIED: NtStatus = NtStatus(0xC0000022);
    pub const BUFFER_TOO_SMALL: NtStatus = NtStatus(0xC0000023);
    pub const OBJECT_NAME_INVALID: NtStatus = NtStatus(0xC0000033);
    pub const OBJECT_NAME_NOT_FOUND: NtStatus = NtStatus(0xC0000034);
    pub const OBJECT_NAME_COLLISION: NtStatus = NtStatus(0xC0000035);
    pub const OBJECT_PATH_INVALID: NtStatus = NtStatus(0xC0000039);
    pub const OBJECT_PATH_NOT_FOUND: NtStatus = NtStatus(0xC000003A);
    pub const OBJECT_PATH_SYNTAX_BAD: NtStatus = NtStatus(0xC000003B);
    pub const SHARING_VIOLATION: NtStatus = NtStatus(0xC0000043);
    pub const QUOTA_EXCEEDED: NtStatus = NtStatus(0xC0000044);
    pub const EAS_NOT_SUPPORTED: NtStatus = NtStatus(0xC000004F);
    pub const FILE_LOCK_CONFLICT: NtStatus = NtStatus(0xC0000054);
    pub const LOCK_NOT_GRANTED: NtStatus = NtStatus(0xC0000055);
    pub const DELETE_PENDING: NtStatus = NtStatus(0xC0000056);
    pub const LOGON_FAILURE: NtStatus = NtStatus(0xC000006D);
    pub const ACCOUNT_RESTRICTION: NtStatus = NtStatus(0xC000006E);
    pub const PASSWORD_EXPIRED: NtStatus = NtStatus(0xC0000071);
    pub const ACCOUNT_DISABLED: NtStatus = NtStatus(0xC0000072);
    pub const RANGE_NOT_LOCKED: NtStatus = NtStatus(0xC000007E);
    pub const DISK_FULL: NtStatus = NtStatus(0xC000007F);
    pub const INSUFFICIENT_RESOURCES: NtStatus = NtStatus(0xC000009A);
    pub const MEDIA_WRITE_PROTECTED: NtStatus = NtStatus(0xC00000A2);
    pub const DEVICE_NOT_READY: NtStatus = NtStatus(0xC00000A3);
    pub const IO_TIMEOUT: NtStatus = NtStatus(0xC00000B5);
    pub const FILE_IS_A_DIRECTORY: NtStatus = NtStatus(0xC00000BA);
    pub const NOT_SUPPORTED: NtStatus = NtStatus(0xC00000BB);
    pub const INVALID_NETWORK_RESPONSE: NtStatus = NtStatus(0xC00000C3);
    pub const NETWORK_NAME_DELETED: NtStatus = NtStatus(0xC00000C9);
    pub const BAD_NETWORK_NAME: NtStatus = NtStatus(0xC00000CC);
    pub const REQUEST_NOT_ACCEPTED: NtStatus = NtStatus(0xC00000D0);
    pub const NOT_SAME_DEVICE: NtStatus = NtStatus(0xC00000D4);
    pub const DIRECTORY_NOT_EMPTY: NtStatus = NtStatus(0xC0000101);
    pub const NOT_A_DIRECTORY: NtStatus = NtStatus(0xC0000103);
    pub const NAME_TOO_LONG: NtStatus = NtStatus(0xC0000106);
    pub const CANCELLED: NtStatus = NtStatus(0xC0000120);
    pub const CANNOT_DELETE: NtStatus = NtStatus(0xC0000121);
    pub const FILE_CLOSED: NtStatus = NtStatus(0xC0000128);
    pub const FS_DRIVER_REQUIRED: NtStatus = NtStatus(0xC000019C);
    pub const USER_SESSION_DELETED: NtStatus = NtStatus(0xC0000203);
    pub const NOT_FOUND: NtStatus = NtStatus(0xC0000225);
    pub const PATH_NOT_COVERED: NtStatus = NtStatus(0xC0000257);
    pub const IO_REPARSE_TAG_NOT_HANDLED: NtStatus = NtStatus(0xC0000279);
    pub const ENCRYPTION_FAILED: NtStatus = NtStatus(0xC000028A);
    pub const DECRYPTION_FAILED: NtStatus = NtStatus(0xC000028B);
    pub const NETWORK_SESSION_EXPIRED: NtStatus = NtStatus(0xC000035C);

    /// The symbolic name, e.g. `"STATUS_ACCESS_DENIED"`, for the codes this crate knows.
    pub fn name(&self) -> Option<&'static str> {
        Some(match *self {
            NtStatus::SUCCESS => "STATUS_SUCCESS",
            NtStatus::PENDING => "STATUS_PENDING",
            NtStatus::NOTIFY_CLEANUP => "STATUS_NOTIFY_CLEANUP",
            NtStatus::NOTIFY_ENUM_DIR => "STATUS_NOTIFY_ENUM_DIR",
            NtStatus::BUFFER_OVERFLOW => "STATUS_BUFFER_OVERFLOW",
            NtStatus::NO_MORE_FILES => "STATUS_NO_MORE_FILES",
            NtStatus::STOPPED_ON_SYMLINK => "STATUS_STOPPED_ON_SYMLINK",
            NtStatus::UNSUCCESSFUL => "STATUS_UNSUCCESSFUL",
            NtStatus::NOT_IMPLEMENTED => "STATUS_NOT_IMPLEMENTED",
            NtStatus::INVALID_INFO_CLASS => "STATUS_INVALID_INFO_CLASS",
            NtStatus::INFO_LENGTH_MISMATCH => "STATUS_INFO_LENGTH_MISMATCH",
            NtStatus::ACCESS_VIOLATION => "STATUS_ACCESS_VIOLATION",
            NtStatus::INVALID_HANDLE => "STATUS_INVALID_HANDLE",
            NtStatus::INVALID_PARAMETER => "STATUS_INVALID_PARAMETER",
            NtStatus::NO_SUCH_FILE => "STATUS_NO_SUCH_FILE",
            NtStatus::INVALID_DEVICE_REQUEST => "STATUS_INVALID_DEVICE_REQUEST",
            NtStatus::END_OF_FILE => "STATUS_END_OF_FILE",
            NtStatus::MORE_PROCESSING_REQUIRED => "STATUS_MORE_PROCESSING_REQUIRED",
            NtStatus::ACCESS_DENIED => "STATUS_ACCESS_DENIED",
            NtStatus::BUFFER_TOO_SMALL => "STATUS_BUFFER_TOO_SMALL",
            NtStatus::OBJECT_NAME_INVALID => "STATUS_OBJECT_NAME_INVALID",
            NtStatus::OBJECT_NAME_NOT_FOUND => "STATUS_OBJECT_NAME_NOT_FOUND",
            NtStatus::OBJECT_NAME_COLLISION => "STATUS_OBJECT_NAME_COLLISION",
            NtStatus::OBJECT_PATH_INVALID => "STATUS_OBJECT_PATH_INVALID",
            NtStatus::OBJECT_PATH_NOT_FOUND => "STATUS_OBJECT_PATH_NOT_FOUND",
            NtStatus::OBJECT_PATH_SYNTAX_BAD => "STATUS_OBJECT_PATH_SYNTAX_BAD",
            NtStatus::SHARING_VIOLATION => "STATUS_SHARING_VIOLATION",
            NtStatus::QUOTA_EXCEEDED => "STATUS_QUOTA_EXCEEDED",
            NtStatus::EAS_NOT_SUPPORTED => "STATUS_EAS_NOT_SUPPORTED",
            NtStatus::FILE_LOCK_CONFLICT => "STATUS_FILE_LOCK_CONFLICT",
            NtStatus::LOCK_NOT_GRANTED => "STATUS_LOCK_NOT_GRANTED",
            NtStatus::DELETE_PENDING => "STATUS_DELETE_PENDING",
            NtStatus::LOGON_FAILURE => "STATUS_LOGON_FAILURE",
            NtStatus::ACCOUNT_RESTRICTION => "STATUS_ACCOUNT_RESTRICTION",
            NtStatus::PASSWORD_EXPIRED => "STATUS_PASSWORD_EXPIRED",
            NtStatus::ACCOUNT_DISABLED => "STATUS_ACCOUNT_DISABLED",
            NtStatus::RANGE_NOT_LOCKED => "STATUS_RANGE_NOT_LOCKED",
            NtStatus::DISK_FULL => "STATUS_DISK_FULL",
            NtStatus::INSUFFICIENT_RESOURCES => "STATUS_INSUFFICIENT_RESOURCES",
            NtStatus::MEDIA_WRITE_PROTECTED => "STATUS_MEDIA_WRITE_PROTECTED",
            NtStatus::DEVICE_NOT_READY => "STATUS_DEVICE_NOT_READY",
            NtStatus::IO_TIMEOUT => "STATUS_IO_TIMEOUT",
            NtStatus::FILE_IS_A_DIRECTORY => "STATUS_FILE_IS_A_DIRECTORY",
            NtStatus::NOT_SUPPORTED => "STATUS_NOT_SUPPORTED",
            NtStatus::INVALID_NETWORK_RESPONSE => "STATUS_INVALID_NETWORK_RESPONSE",
            NtStatus::NETWORK_NAME_DELETED => "STATUS_NETWORK_NAME_DELETED",
            NtStatus::BAD_NETWORK_NAME => "STATUS_BAD_NETWORK_NAME",
            NtStatus::REQUEST_NOT_ACCEPTED => "STATUS_REQUEST_NOT_ACCEPTED",
            NtStatus::NOT_SAME_DEVICE => "STATUS_NOT_SAME_DEVICE",
            NtStatus::DIRECTORY_NOT_EMPTY => "STATUS_DIRECTORY_NOT_EMPTY",
            NtStatus::NOT_A_DIRECTORY => "STATUS_NOT_A_DIRECTORY",
            NtStatus::NAME_TOO_LONG => "STATUS_NAME_TOO_LONG",
            NtStatus::CANCELLED => "STATUS_CANCELLED",
            NtStatus::CANNOT_DELETE => "STATUS_CANNOT_DELETE",
            NtStatus::FILE_CLOSED => "STATUS_FILE_CLOSED",
            NtStatus::FS_DRIVER_REQUIRED => "STATUS_FS_DRIVER_REQUIRED",
            NtStatus::USER_SESSION_DELETED => "STATUS_USER_SESSION_DELETED",
            NtStatus::NOT_FOUND => "STATUS_NOT_FOUND",
            NtStatus::PATH_NOT_COVERED => "STATUS_PATH_NOT_COVERED",
            NtStatus::IO_REPARSE_TAG_NOT_HANDLED => "STATUS_IO_REPARSE_TAG_NOT_HANDLED",
            NtStatus::ENCRYPTION_FAILED => "STATUS_ENCRYPTION_FAILED",
            NtStatus::DECRYPTION_FAILED => "STATUS_DECRYPTION_FAILED",
            NtStatus::NETWORK_SESSION_EXPIRED => "STATUS_NETWORK_SESSION_EXPIRED",
            _ => return None,
        })
    }

    pub fn is_success(&self) -> bool {
        self.0 == 0
    }

    /// Severity bits (31..30) are 0b11.
    pub fn is_error(&self) -> bool {
        self.0 >> 30 == 0b11
    }

    /// Severity bits are 0b10 (e.g. BUFFER_OVERFLOW, NO_MORE_FILES).
    pub fn is_warning(&self) -> bool {
        self.0 >> 30 == 0b10
    }
}

impl fmt::Display for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} (0x{:08X})", self.0),
            None => write!(f, "0x{:08X}", self.0),
        }
    }
}

impl fmt::Debug for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<u32> for NtStatus {
    fn from(v: u32) -> Self {
        NtStatus(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_classes() {
        assert_eq!(
            NtStatus::ACCESS_DENIED.to_string(),
            "STATUS_ACCESS_DENIED (0xC0000022)"
        );
        assert_eq!(format!("{:?}", NtStatus(0xC0FFEE00)), "0xC0FFEE00");
        assert!(NtStatus::SUCCESS.is_success());
        assert!(NtStatus::ACCESS_DENIED.is_error());
        assert!(!NtStatus::BUFFER_OVERFLOW.is_error());
        assert!(NtStatus::BUFFER_OVERFLOW.is_warning());
        assert!(!NtStatus::PENDING.is_error());
        assert!(!NtStatus::MORE_PROCESSING_REQUIRED.is_success());
        assert_eq!(NtStatus::NO_MORE_FILES.name(), Some("STATUS_NO_MORE_FILES"));
    }
}
