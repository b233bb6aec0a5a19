//! Shared helpers for the integration tests: the Samba server that `scripts/test.sh` started, a
//! private directory per test, and a recording/tampering TCP proxy.
#![allow(dead_code)]

pub mod mount;
pub mod vectors;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use smb3fs::auth::Credentials;
use smb3fs::client::{Client, ConnectOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The test server, from the environment `scripts/test.sh` sets.
pub struct Server {
    pub host: String,
    pub port: u16,
    pub share: String,
    pub user: String,
    pub password: String,
    pub share_dir: PathBuf,
    pub credentials_file: PathBuf,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the integration tests through scripts/test.sh, which starts Samba")
    })
}

pub fn server() -> Server {
    Server {
        host: env("SMB3FS_TEST_HOST"),
        port: env("SMB3FS_TEST_PORT").parse().expect("SMB3FS_TEST_PORT"),
        share: env("SMB3FS_TEST_SHARE"),
        user: env("SMB3FS_TEST_USER"),
        password: env("SMB3FS_TEST_PASSWORD"),
        share_dir: PathBuf::from(env("SMB3FS_TEST_SHARE_DIR")),
        credentials_file: PathBuf::from(env("SMB3FS_TEST_SAMBA_DIR")).join("credentials"),
    }
}

impl Server {
    pub fn credentials(&self) -> Credentials {
        Credentials {
            username: self.user.clone(),
            domain: String::new(),
            password: self.password.clone(),
            workstation: String::new(),
        }
    }

    pub fn options(&self) -> ConnectOptions {
        ConnectOptions::new(&self.host, self.port, &self.share, self.credentials())
    }

    pub fn unc(&self) -> String {
        format!("//{}:{}/{}", self.host, self.port, self.share)
    }

    pub async fn connect(&self) -> Client {
        Client::connect(&self.options())
            .await
            .expect("connect to the test server")
    }

    /// A fresh directory for one test, inside the share: (path on the server's disk, share path).
    pub fn test_dir(&self, name: &str) -> (PathBuf, String) {
        let local = self.share_dir.join(name);
        let _ = std::fs::remove_dir_all(&local);
        std::fs::create_dir_all(&local).unwrap();
        // smbd runs the session as the test user, who must be able to write here.
        let owner = std::fs::metadata(&self.share_dir).unwrap();
        use std::os::unix::fs::MetadataExt;
        std::os::unix::fs::chown(&local, Some(owner.uid()), Some(owner.gid())).unwrap();
        (local, name.to_string())
    }
}

/// Deterministic pseudo-random bytes (xorshift), so failures are reproducible.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Frames seen by the proxy: (from_client, frame without the 4-byte length prefix).
pub type Frames = Arc<Mutex<Vec<(bool, Vec<u8>)>>>;

/// A TCP proxy between the client and the server that records every frame in both directions
/// and, when armed, flips one byte in the next server-to-client frame.
pub struct Proxy {
    pub port: u16,
    pub frames: Frames,
    pub corrupt_next_reply: Arc<AtomicBool>,
    pub corrupted: Arc<AtomicUsize>,
    pumps: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    pub async fn start(server: &Server) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let corrupt = Arc::new(AtomicBool::new(false));
        let corrupted = Arc::new(AtomicUsize::new(0));
        let upstream = format!("{}:{}", server.host, server.port);
        let (f, c, n) = (frames.clone(), corrupt.clone(), corrupted.clone());
        let pumps = Arc::new(Mutex::new(Vec::new()));
        let p = pumps.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&upstream).await.unwrap();
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                let mut p = p.lock().unwrap();
                p.push(tokio::spawn(pump(
                    cr,
                    sw,
                    true,
                    f.clone(),
                    c.clone(),
                    n.clone(),
                )));
                p.push(tokio::spawn(pump(
                    sr,
                    cw,
                    false,
                    f.clone(),
                    c.clone(),
                    n.clone(),
                )));
            }
        });
        pumps.lock().unwrap().push(accept);
        Proxy {
            port,
            frames,
            corrupt_next_reply: corrupt,
            corrupted,
            pumps,
        }
    }

    /// Cut every connection and stop accepting new ones, as a failed network would.
    pub fn cut(&self) {
        for p in self.pumps.lock().unwrap().drain(..) {
            p.abort();
        }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    from_client: bool,
    frames: Frames,
    corrupt: Arc<AtomicBool>,
    corrupted: Arc<AtomicUsize>,
) {
    loop {
        let mut len = [0u8; 4];
        if from.read_exact(&mut len).await.is_err() {
            let _ = to.shutdown().await;
            return;
        }
        let n = u32::from_be_bytes(len) as usize;
        let mut frame = vec![0u8; n];
        if from.read_exact(&mut frame).await.is_err() {
            let _ = to.shutdown().await;
            return;
        }
        frames.lock().unwrap().push((from_client, frame.clone()));
        if !from_client && corrupt.swap(false, Ordering::SeqCst) {
            // Flip a bit in the middle of the frame: inside the ciphertext or the signed body.
            let i = frame.len() / 2 + 1;
            frame[i] ^= 0x40;
            corrupted.fetch_add(1, Ordering::SeqCst);
        }
        if to.write_all(&len).await.is_err() || to.write_all(&frame).await.is_err() {
            return;
        }
    }
}
