//! The `smb3fs` command line against the test Samba.

mod common;

use std::process::{Command, Output};

use common::{pattern, server};

fn smb3fs(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_smb3fs"));
    c.args(args)
        .env_remove("PASSWD")
        .env_remove("PASSWD_FILE")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run smb3fs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn info_shows_dialect_and_each_cipher() {
    let s = server();
    let cred = format!("credentials={}", s.credentials_file.display());
    let out = smb3fs(&["info", &s.unc(), "-o", &cred], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("dialect:       3.1.1"), "{t}");
    assert!(t.contains("cipher:        AES-128-GCM"), "{t}");
    assert!(t.contains("encrypted:     yes"), "{t}");
    for (opt, name) in [
        ("aes-128-ccm", "AES-128-CCM"),
        ("aes-256-gcm", "AES-256-GCM"),
        ("aes-256-ccm", "AES-256-CCM"),
    ] {
        let out = smb3fs(
            &["info", &s.unc(), "-o", &format!("{cred},cipher={opt}")],
            &[],
        );
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains(&format!("cipher:        {name}")),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn put_then_get_is_byte_identical() {
    let s = server();
    let (local, dir) = s.test_dir("cli-putget");
    let tmp = std::env::temp_dir().join(format!("smb3fs-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let data = pattern(9 * 1024 * 1024 + 777, 42);
    std::fs::write(tmp.join("up.bin"), &data).unwrap();
    let cred = format!("credentials={}", s.credentials_file.display());
    let remote = format!("{dir}/up.bin");
    let up = tmp.join("up.bin");
    let out = smb3fs(
        &["put", &s.unc(), "-o", &cred, up.to_str().unwrap(), &remote],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        std::fs::read(local.join("up.bin")).unwrap() == data,
        "server copy differs"
    );
    let down = tmp.join("down.bin");
    let out = smb3fs(
        &[
            "get",
            &s.unc(),
            "-o",
            &cred,
            &remote,
            down.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        std::fs::read(&down).unwrap() == data,
        "downloaded copy differs"
    );
    // An empty file too.
    std::fs::write(tmp.join("empty"), b"").unwrap();
    let out = smb3fs(
        &[
            "put",
            &s.unc(),
            "-o",
            &cred,
            tmp.join("empty").to_str().unwrap(),
            &format!("{dir}/empty"),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(local.join("empty")).unwrap().len(), 0);
    let out = smb3fs(&["ls", &s.unc(), "-o", &cred, &dir], &[]);
    assert!(
        text(&out).contains("up.bin") && text(&out).contains("empty"),
        "{}",
        text(&out)
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn password_from_environment() {
    let s = server();
    let user = format!("username={}", s.user);
    let out = smb3fs(&["ls", &s.unc(), "-o", &user], &[("PASSWD", &s.password)]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn wrong_password_fails_clearly() {
    let s = server();
    let user = format!("username={}", s.user);
    let out = smb3fs(
        &["info", &s.unc(), "-o", &user],
        &[("PASSWD", "wrong-password")],
    );
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("logon failed") && t.contains("LOGON_FAILURE"),
        "{t}"
    );
    assert!(
        !t.contains("wrong-password"),
        "the password must not be printed: {t}"
    );
}

#[test]
fn bad_options_are_named() {
    let s = server();
    let out = smb3fs(
        &["info", &s.unc(), "-o", "username=x,frobnicate,password=abc"],
        &[],
    );
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("password") && !t.contains("abc"), "{t}");
    let out = smb3fs(
        &["info", &s.unc(), "-o", "username=x,frobnicate"],
        &[("PASSWD", "x")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown option(s): frobnicate"),
        "{}",
        text(&out)
    );
}

#[test]
fn no_password_anywhere_is_an_error() {
    let s = server();
    let out = smb3fs(&["info", &s.unc(), "-o", "username=x"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no password"), "{}", text(&out));
}

#[test]
fn dialect_floor_above_server_is_refused() {
    // The server speaks only 3.1.1; a client limited to 3.0.2 must fail with a clear message.
    let s = server();
    let cred = format!("credentials={}", s.credentials_file.display());
    let out = smb3fs(
        &["info", &s.unc(), "-o", &format!("{cred},vers=3.0.2")],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("dialect"), "{}", text(&out));
}
