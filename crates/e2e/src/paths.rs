//! Where things are: the tools on PATH, the proxy binary, the target folder.

use std::path::{Path, PathBuf};

/// What installs every tool the journeys need (Debian's packages).
pub const INSTALL: &str = "apt-get install -y chromium chromium-driver ffmpeg";

/// The path of `program` on PATH; a missing one fails the test with [`INSTALL`].
pub fn require(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .unwrap_or_else(|| {
            panic!(
                "`{program}` is needed by the browser end-to-end tests and was not found on \
                 PATH: install the tools with `{INSTALL}` (Debian/Ubuntu)"
            )
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The workspace root. Read at run time when cargo runs the tests (so a moved checkout
/// still works), else the folder this crate was built in.
fn workspace_root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or(manifest)
}

/// `CARGO_TARGET_DIR` (relative to the workspace root) or `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Where each journey saves the screenshot of its end state.
pub fn screenshot_dir() -> PathBuf {
    target_dir().join("e2e")
}

/// The proxy binary: `S3PROXY_BIN` (set by `cargo xtask test` after building it), else
/// the debug build in the target folder. Cargo only hands `CARGO_BIN_EXE_*` to tests of
/// the binary's own package, so this crate has to look.
pub fn proxy_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("S3PROXY_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            is_executable(&bin),
            "S3PROXY_BIN is {}, which is not an executable file",
            bin.display()
        );
        return bin;
    }
    let bin = target_dir().join("debug").join("s3proxy");
    assert!(
        is_executable(&bin),
        "the proxy binary {} is missing: build it with `cargo build -p s3proxy` (or run \
         `cargo xtask test --only e2e`, which does), or point S3PROXY_BIN at one",
        bin.display()
    );
    bin
}
