//! The demo objects of the local bucket, written on first run.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::Path;

use devstack::Result;

pub const HELLO: &[u8] = b"Hello from the local s3proxy stack!\n";

const INDEX_HTML: &str = "\
<!DOCTYPE html>
<html lang=\"en\">
<head>
  <meta charset=\"utf-8\">
  <title>s3proxy: local stack</title>
</head>
<body>
  <h1>It works</h1>
  <p>This page and the image below came from the local bucket through s3proxy,
     after signing in with the SSO mock.</p>
  <p><img src=\"pixel.png\" alt=\"a blue square: one pixel, scaled up\" width=\"64\" height=\"64\"
          style=\"image-rendering: pixelated\"></p>
  <p>Also here: <a href=\"hello.txt\">hello.txt</a>.</p>
</body>
</html>
";

/// A 1×1 RGB PNG, one blue pixel (#1d70b8): signature, IHDR, IDAT (zlib), IEND,
/// each chunk with its CRC.
pub const PIXEL_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, // signature
    0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, // IHDR, 13 bytes
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, // 1 × 1
    0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, // 8-bit RGB; CRC
    0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, // IDAT, 12 bytes
    0x78, 0xda, 0x63, 0x90, 0x2d, 0xd8, 0x01, 0x00, 0x01, 0xf3, 0x01, 0x46, // zlib
    0xcd, 0xd6, 0xca, 0x7f, // CRC
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82, // IEND
];

/// Writes each demo object into `dir` (the bucket folder, prefix included) unless
/// it is already there: a developer's own edits are kept. Returns the names written.
pub fn seed(dir: &Path, healthcheck_key: &str) -> Result<Vec<String>> {
    let objects: [(&str, &[u8]); 4] = [
        ("hello.txt", HELLO),
        ("index.html", INDEX_HTML.as_bytes()),
        ("pixel.png", &PIXEL_PNG),
        (healthcheck_key, b"OK\n"),
    ];
    let mut written = Vec::new();
    for (key, bytes) in objects {
        let path = dir.join(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        // create_new: never overwrite, even if the file appeared meanwhile.
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                file.write_all(bytes)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                written.push(key.to_owned());
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC-32 (ISO-HDLC), as PNG chunks use.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn pixel_png_is_well_formed() {
        assert_eq!(&PIXEL_PNG[..8], b"\x89PNG\r\n\x1a\n");
        let mut rest = &PIXEL_PNG[8..];
        let mut kinds = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let (kind_and_data, tail) = rest[4..].split_at(4 + len);
            let crc = u32::from_be_bytes(tail[..4].try_into().unwrap());
            assert_eq!(crc32(kind_and_data), crc);
            kinds.push(String::from_utf8(kind_and_data[..4].to_vec()).unwrap());
            rest = &tail[4..];
        }
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
    }

    #[test]
    fn seeds_only_missing_files() {
        let dir = std::env::temp_dir().join(format!("xtask-seed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hello.txt"), "mine").unwrap();
        let written = seed(&dir, "checks/health.txt").unwrap();
        assert_eq!(written, ["index.html", "pixel.png", "checks/health.txt"]);
        assert_eq!(std::fs::read(dir.join("hello.txt")).unwrap(), b"mine");
        assert!(std::fs::read_to_string(dir.join("index.html"))
            .unwrap()
            .contains("src=\"pixel.png\""));
        assert!(seed(&dir, "checks/health.txt").unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
