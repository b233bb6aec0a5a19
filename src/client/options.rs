//! What the user chose: server address, credentials and security policy.

use std::time::Duration;

use crate::auth::Credentials;
use crate::crypto::{Cipher, SigningAlgorithm};
use crate::proto::negotiate::{DIALECT_202, DIALECT_210, DIALECT_300, DIALECT_302, DIALECT_311};

/// Every dialect we speak, oldest first.
pub const DIALECTS: [u16; 5] = [
    DIALECT_202,
    DIALECT_210,
    DIALECT_300,
    DIALECT_302,
    DIALECT_311,
];

#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    pub share: String,
    pub credentials: Credentials,
    pub min_dialect: u16,
    pub max_dialect: u16,
    /// Refuse a server or share that will not encrypt, and encrypt every request after logon.
    pub require_encryption: bool,
    /// Offered in this order; the server picks.
    pub ciphers: Vec<Cipher>,
    pub signing: Vec<SigningAlgorithm>,
    pub connect_timeout: Duration,
    /// How long an ordinary request may wait for its answer before the caller gets an error.
    pub request_timeout: Duration,
}

impl ConnectOptions {
    pub fn new(host: &str, port: u16, share: &str, credentials: Credentials) -> Self {
        ConnectOptions {
            host: host.to_string(),
            port,
            share: share.to_string(),
            credentials,
            min_dialect: DIALECT_311,
            max_dialect: DIALECT_311,
            require_encryption: true,
            ciphers: vec![
                Cipher::Aes128Gcm,
                Cipher::Aes128Ccm,
                Cipher::Aes256Gcm,
                Cipher::Aes256Ccm,
            ],
            signing: vec![SigningAlgorithm::AesGmac, SigningAlgorithm::AesCmac],
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
        }
    }

    /// The dialects offered in NEGOTIATE: every known one within [min, max].
    pub fn dialects(&self) -> Vec<u16> {
        DIALECTS
            .iter()
            .copied()
            .filter(|d| *d >= self.min_dialect && *d <= self.max_dialect)
            .collect()
    }
}

/// Parse "3.1.1", "3.11", "3.0.2", "3.02", "3.0", "3", "2.1", "2.0"/"2.0.2" (mount.cifs `vers=` spellings).
pub fn parse_dialect(s: &str) -> Option<u16> {
    Some(match s.trim() {
        "3.1.1" | "3.11" => DIALECT_311,
        "3.0.2" | "3.02" => DIALECT_302,
        "3.0" | "3" => DIALECT_300,
        "2.1" => DIALECT_210,
        "2.0" | "2.0.2" | "2.02" => DIALECT_202,
        _ => return None,
    })
}

pub fn dialect_name(d: u16) -> String {
    match d {
        DIALECT_311 => "3.1.1".into(),
        DIALECT_302 => "3.0.2".into(),
        DIALECT_300 => "3.0".into(),
        DIALECT_210 => "2.1".into(),
        DIALECT_202 => "2.0.2".into(),
        other => format!("0x{other:04x}"),
    }
}

/// Parse a cipher name as users write it: "aes-128-gcm", "aes128gcm", "AES-256-CCM".
pub fn parse_cipher(s: &str) -> Option<Cipher> {
    let norm: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match norm.as_str() {
        "aes128gcm" => Cipher::Aes128Gcm,
        "aes128ccm" => Cipher::Aes128Ccm,
        "aes256gcm" => Cipher::Aes256Gcm,
        "aes256ccm" => Cipher::Aes256Ccm,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_spellings() {
        assert_eq!(parse_dialect("3.1.1"), Some(DIALECT_311));
        assert_eq!(parse_dialect("3.02"), Some(DIALECT_302));
        assert_eq!(parse_dialect("2.1"), Some(DIALECT_210));
        assert_eq!(parse_dialect("1.0"), None);
        assert_eq!(dialect_name(DIALECT_300), "3.0");
    }

    #[test]
    fn cipher_spellings() {
        assert_eq!(parse_cipher("AES-128-GCM"), Some(Cipher::Aes128Gcm));
        assert_eq!(parse_cipher("aes256ccm"), Some(Cipher::Aes256Ccm));
        assert_eq!(parse_cipher("des"), None);
    }

    #[test]
    fn offered_dialects_follow_floor_and_ceiling() {
        let creds = Credentials {
            username: "u".into(),
            domain: String::new(),
            password: "p".into(),
            workstation: String::new(),
        };
        let mut o = ConnectOptions::new("h", 445, "s", creds);
        assert_eq!(o.dialects(), vec![DIALECT_311]);
        o.min_dialect = DIALECT_210;
        assert_eq!(
            o.dialects(),
            vec![DIALECT_210, DIALECT_300, DIALECT_302, DIALECT_311]
        );
    }
}
