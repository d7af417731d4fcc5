//! A certificate authority made at bench time, and a certificate it signed for
//! `localhost` and 127.0.0.1: the https backend's, trusted by the proxies through the CA
//! file (`SSL_CERT_FILE` for s3proxy), as a private CA would be. Made with the `openssl`
//! command, so that xtask builds no TLS stack of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use devstack::workspace::show;
use devstack::Result;

/// The PEM files of the CA and of the server it signed.
pub struct TestCa {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl TestCa {
    /// Writes a new CA and server certificate into `dir` (ECDSA P-256, valid 2 days).
    pub fn create(dir: &Path) -> Result<TestCa> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let file = |name: &str| dir.join(name).display().to_string();
        let ca = TestCa {
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join("server.pem"),
            key_file: dir.join("server.key"),
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=s3proxy bench CA",
                ])
                .args(ec)
                .args(["-keyout", &file("ca.key"), "-out", &file("ca.pem")]),
        )?;
        openssl(
            Command::new("openssl")
                .args(["req", "-subj", "/CN=localhost"])
                .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
                .args(ec)
                .args(["-keyout", &file("server.key"), "-out", &file("server.csr")]),
        )?;
        openssl(
            Command::new("openssl")
                .args(["x509", "-req", "-days", "2", "-copy_extensions", "copy"])
                .args(["-in", &file("server.csr"), "-CA", &file("ca.pem")])
                .args(["-CAkey", &file("ca.key"), "-CAcreateserial"])
                .args(["-out", &file("server.pem")]),
        )?;
        Ok(ca)
    }
}

/// Runs an `openssl` command quietly; its output is shown only when it fails.
fn openssl(command: &mut Command) -> Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| launcher::spawn_error("openssl", command, &e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            show(command),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
