//! The `dev-s3` command: start line, port in use, signals.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(root: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dev-s3"))
        .args(["--root".as_ref(), root.as_os_str()])
        .args(["--port", &port.to_string()])
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits up to 10 s for `child` to exit.
fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "dev-s3 did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn announces_itself_and_exits_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn(dir.path(), 0);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let prefix = "dev-s3 listening on http://127.0.0.1:";
    assert!(line.starts_with(prefix), "{line}");
    assert!(
        line.trim_end()
            .ends_with(&format!(" serving {}", dir.path().display())),
        "{line}"
    );
    let port: u16 = line[prefix.len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    assert!(dir.path().join("my-bucket").is_dir());

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(wait(&mut child).success());
}

#[test]
fn port_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = spawn(dir.path(), port).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("port {port}")), "{stderr}");
}
