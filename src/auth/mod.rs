//! Authentication: NTLMv2 inside SPNEGO, as SMB2 SESSION_SETUP carries it.
//!
//! The client drives an [`NtlmAuthenticator`]: `initial_token()` for the first SESSION_SETUP
//! request, `step()` with the server's MORE_PROCESSING_REQUIRED token, then `finish()` with
//! the final token; `session_key()` feeds [`crate::crypto::derive_session_keys`].

mod authenticator;
pub mod ntlm;
pub mod ntlm_crypto;
pub mod spnego;

pub use authenticator::{NtlmAuthenticator, NtlmConfig, ServerInfo};

/// User credentials. The password never appears in Debug output.
#[derive(Clone, Default)]
pub struct Credentials {
    pub username: String,
    pub domain: String,
    pub password: String,
    pub workstation: String,
}

impl Credentials {
    pub fn new(username: &str, domain: &str, password: &str) -> Self {
        Credentials {
            username: username.into(),
            domain: domain.into(),
            password: password.into(),
            workstation: String::new(),
        }
    }

    /// Empty user name and password: an anonymous (NULL session) logon.
    pub fn is_anonymous(&self) -> bool {
        self.username.is_empty() && self.password.is_empty()
    }
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("domain", &self.domain)
            .field("password", &"<redacted>")
            .field("workstation", &self.workstation)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("malformed security token: {0}")]
    MalformedToken(&'static str),
    #[error("the server does not offer NTLMSSP")]
    NoNtlmMech,
    #[error("the server rejected the authentication")]
    ServerRejected,
    #[error("the server's mechListMIC does not verify")]
    MicMismatch,
    #[error("authentication step called out of order: {0}")]
    BadState(&'static str),
    #[error("the server did not negotiate a required NTLM feature: {0}")]
    Unsupported(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_password() {
        let c = Credentials::new("bob", "CORP", "hunter2");
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2"));
        assert!(s.contains("<redacted>") && s.contains("bob"));
        assert!(!c.is_anonymous());
        assert!(Credentials::default().is_anonymous());
    }
}
