//! A server that offers a guest session in place of the user's credentials must be refused.
//! This test starts its own deliberately weak smbd (`SMB3FS_SAMBA_GUEST=1 scripts/samba.sh`).

use std::process::Command;

use smb3fs::auth::Credentials;
use smb3fs::client::{Client, ClientError, ConnectOptions};

struct WeakSamba {
    dir: std::path::PathBuf,
}

impl Drop for WeakSamba {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/samba.sh");
        let _ = Command::new("bash")
            .arg(script)
            .arg("stop")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn guest_fallback_is_refused() {
    let base = std::env::var("SMB3FS_TEST_TMPDIR").unwrap_or_else(|_| "/tmp".into());
    let dir = std::path::PathBuf::from(base).join(format!("weak-samba-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/samba.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg("start")
        .arg(&dir)
        .arg(port.to_string())
        .env("SMB3FS_SAMBA_GUEST", "1")
        .status()
        .unwrap();
    let _guard = WeakSamba { dir: dir.clone() };
    assert!(status.success(), "weak samba did not start");

    let creds = Credentials {
        username: "no-such-user".into(),
        domain: String::new(),
        password: "whatever".into(),
        workstation: String::new(),
    };
    for seal in [true, false] {
        let mut o = ConnectOptions::new("127.0.0.1", port, "share", creds.clone());
        o.require_encryption = seal;
        let e = Client::connect(&o)
            .await
            .expect_err("a guest session must be refused");
        assert!(
            matches!(e, ClientError::GuestFallback { .. }),
            "seal={seal}: {e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("guest") && msg.contains("no-such-user"),
            "{msg}"
        );
    }
}
