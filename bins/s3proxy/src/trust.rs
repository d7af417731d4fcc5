//! Which certificate authorities outgoing TLS trusts.
//!
//! The system's, as every client finds them by default; and when `SSL_CERT_FILE` is
//! set, those *plus* the file's. (rustls-native-certs, under the Redis, S3 and SSO
//! clients, would take the file *instead of* the system's, so a private CA for Redis
//! would break S3.)

use std::collections::HashSet;
use std::path::Path;

/// DER certificates to give every client when `SSL_CERT_FILE` is set; `None` otherwise
/// (each client then uses the system's roots itself).
pub fn roots_with_ssl_cert_file() -> Result<Option<Vec<Vec<u8>>>, String> {
    match std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
        None => Ok(None),
        Some(file) => system_roots_and(Path::new(&file)).map(Some),
    }
}

/// The system's roots and `file`'s, each once.
fn system_roots_and(file: &Path) -> Result<Vec<Vec<u8>>, String> {
    let extra = rustls_native_certs::load_certs_from_paths(Some(file), None);
    if let Some(e) = extra.errors.first() {
        return Err(format!("SSL_CERT_FILE: cannot read certificates: {e}"));
    }
    if extra.certs.is_empty() {
        return Err("SSL_CERT_FILE: holds no PEM certificate".into());
    }
    let mut seen = HashSet::new();
    let mut roots = Vec::new();
    let system = openssl_probe::candidate_cert_dirs()
        .flat_map(|dir| rustls_native_certs::load_certs_from_paths(None, Some(dir)).certs);
    for cert in system.chain(extra.certs) {
        let der = cert.as_ref().to_vec();
        if seen.insert(der.clone()) {
            roots.push(der);
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system_roots() -> usize {
        rustls_native_certs::load_native_certs().certs.len()
    }

    #[test]
    fn the_file_adds_to_the_system_roots() {
        // Any PEM certificate will do: the first of the system's, written to a file.
        let native = rustls_native_certs::load_native_certs().certs;
        assert!(
            !native.is_empty(),
            "this test needs the system's CA certificates: apt-get install -y ca-certificates"
        );
        let dir = std::env::temp_dir().join(format!("s3proxy-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("extra.pem");
        let pem = pem_of(native[0].as_ref());
        std::fs::write(&file, pem).unwrap();
        let roots = system_roots_and(&file).unwrap();
        assert!(roots.len() >= system_roots(), "{} roots", roots.len());
        assert!(roots.iter().any(|r| r == native[0].as_ref()));

        std::fs::write(&file, "no certificate here").unwrap();
        assert!(system_roots_and(&file).is_err());
        assert!(system_roots_and(&dir.join("missing.pem")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn pem_of(der: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }
}
