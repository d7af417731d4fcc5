//! Where things are (workspace root, `.dev/`, built binaries) and how commands are run.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::Result;

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Finds the workspace root, at run time: a checkout moved or copied after building
/// must still work.
pub fn init() -> Result<()> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?;
    let root = locate(manifest_dir.as_deref(), &cwd)?;
    // Set once; a second call (tests) finds the same root.
    let _ = ROOT.set(root);
    Ok(())
}

/// The workspace root found by [`init`]. Unit tests, which do not call it, look it up
/// the same way (cargo sets `CARGO_MANIFEST_DIR` for them too).
pub fn root() -> &'static Path {
    ROOT.get_or_init(|| {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let cwd = std::env::current_dir().unwrap_or_default();
        locate(manifest_dir.as_deref(), &cwd).unwrap_or(cwd)
    })
}

/// The parent of xtask's folder, which cargo names in `CARGO_MANIFEST_DIR` for
/// `cargo run` (hence `cargo xtask`) and for xtask's tests; run otherwise
/// (`target/debug/xtask`, other crates' tests), the nearest folder at or above `cwd`
/// holding `xtask/Cargo.toml`.
fn locate(manifest_dir: Option<&Path>, cwd: &Path) -> Result<PathBuf> {
    let is_root = |dir: &Path| dir.join("Cargo.toml").is_file() && dir.join("xtask").is_dir();
    if let Some(root) = manifest_dir
        .and_then(Path::parent)
        .filter(|dir| is_root(dir))
    {
        return Ok(root.to_path_buf());
    }
    cwd.ancestors()
        .find(|dir| is_root(dir))
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            format!(
                "cannot find the workspace: neither CARGO_MANIFEST_DIR ({}) nor {} or a folder \
                 above it holds xtask/. Run it as `cargo xtask …` inside the checkout",
                manifest_dir.map_or("unset".into(), |d| d.display().to_string()),
                cwd.display()
            )
        })
}

/// `.dev/`: everything the local stack writes (objects, logs, pids), git-ignored.
pub fn dev_dir() -> PathBuf {
    root().join(".dev")
}

/// `CARGO_TARGET_DIR` (relative to the root) or `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// A binary of the workspace as `cargo build --profile <profile>` leaves it.
pub fn binary(name: &str, profile: &str) -> PathBuf {
    // The dev profile's folder is named `debug`; every other profile's after itself.
    let folder = if profile == "dev" { "debug" } else { profile };
    target_dir().join(folder).join(name)
}

/// `cargo` — the very one that runs xtask (cargo sets `CARGO`), run at the root.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.current_dir(root());
    command
}

/// `cargo build --profile <profile>` of the binaries `names`, each from its own package.
/// Every step that builds binaries goes through here, so that the same profile always
/// means the same command (and a later step finds nothing to rebuild).
pub fn build(profile: &str, names: &[&str]) -> Result<()> {
    let mut cargo = cargo();
    cargo.args(["build", "--profile", profile]);
    for name in names {
        cargo.args(["--package", name, "--bin", name]);
    }
    run(&mut cargo)
}

/// Runs `command` with inherited stdio, announcing it first; a non-zero exit is an error.
pub fn run(command: &mut Command) -> Result<()> {
    let shown = show(command);
    println!("$ {shown}");
    let status = command
        .status()
        .map_err(|e| launcher::spawn_error(&format!("`{shown}`"), command, &e))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// The command line as a person would type it (program name without its path).
pub fn show(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(command.get_program())
        .to_string_lossy()
        .into_owned();
    let mut line = program;
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// The path relative to the root, for messages (`.dev/logs/s3proxy.log`).
pub fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Whether `program` is an executable file in one of `PATH`'s folders.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program))
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_found_at_run_time() {
        // This crate's folder is `crates/devstack`; cargo names xtask's when it runs xtask.
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = here.parent().unwrap().parent().unwrap();
        let xtask = root.join("xtask");
        assert_eq!(locate(Some(&xtask), Path::new("/")).unwrap(), root);
        assert_eq!(locate(Some(here), &root.join("crates")).unwrap(), root);
        // A checkout moved after building: the old folder is gone, cargo names the new one.
        assert_eq!(
            locate(
                Some(Path::new("/nonexistent/old/xtask")),
                &root.join("crates")
            )
            .unwrap(),
            root
        );
        assert_eq!(locate(None, &here.join("src")).unwrap(), root);
        let err = locate(Some(Path::new("/nonexistent/xtask")), Path::new("/")).unwrap_err();
        assert!(
            err.contains("/nonexistent/xtask") && err.contains("cargo xtask"),
            "{err}"
        );
    }

    #[test]
    fn binaries_by_profile() {
        assert!(binary("s3proxy", "dev").ends_with("debug/s3proxy"));
        assert!(binary("s3proxy", "bench-quick").ends_with("bench-quick/s3proxy"));
    }
}
