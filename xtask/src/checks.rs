//! `cargo xtask test`: the project's one test command, its steps in order, stopping at
//! the first failure, closing with `N passed, M failed`.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bench::BenchOptions;
use devstack::workspace::{self, on_path};
use devstack::{signals, Result};

use crate::{e2e, engine, image, package, smoke};

/// The steps, in the order they run (and the names `--only` accepts).
pub const STEP_NAMES: [&str; 12] = [
    "fmt", "clippy", "deps", "doc", "package", "test", "e2e", "fuzz", "smoke", "bench", "image",
    "compose",
];

/// The certified OpenID Provider's harness (node-oidc-provider), from the root.
const OIDC_PROVIDER_HARNESS: &str = "testdata/oidc-provider";

/// The oldest Node.js the harness runs on (its README).
const NODE_MAJOR_AT_LEAST: u32 = 20;

/// Seconds each fuzz target runs for in the `fuzz` step.
const FUZZ_SECONDS: &str = "10";

/// The unused-dependency finder, installed at this version when another is found
/// (known to work with the project's manifests; bump deliberately).
const CARGO_MACHETE_VERSION: &str = "0.9.2";

enum Outcome {
    Passed,
    /// Not run here, and why: not counted as passed or failed.
    Skipped(String),
}

/// Runs the steps (all, or those in `only`); true when none failed.
pub fn run(only: &[String]) -> bool {
    let mut passed = 0;
    let mut failed = 0;
    for name in STEP_NAMES {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        println!("\n==> {name}: {}", describe(name));
        if signals::stop_requested() {
            eprintln!("interrupted: later steps did not run");
            failed += 1;
            break;
        }
        match step(name) {
            Ok(Outcome::Passed) => {
                passed += 1;
                println!("==> {name}: passed");
            }
            Ok(Outcome::Skipped(why)) => println!("==> {name}: skipped: {why}"),
            Err(e) => {
                failed += 1;
                eprintln!("==> {name}: FAILED: {e}");
                eprintln!("stopping at the first failure; later steps did not run");
                break;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    failed == 0
}

fn describe(step: &str) -> &'static str {
    match step {
        "fmt" => "formatting (cargo fmt --check)",
        "clippy" => "lints (cargo clippy, warnings denied)",
        "deps" => "no unused dependency in any manifest (cargo machete, installed if missing)",
        "doc" => "documentation (cargo doc, warnings denied)",
        "package" => {
            "the library crates (publish = true) packaged together and each built from its \
             package (cargo package)"
        }
        "test" => {
            "unit, integration and doc tests (cargo test --workspace --exclude e2e; first \
             npm ci of the certified OpenID Provider's harness, which needs nodejs and npm)"
        }
        "e2e" => {
            "the browser journeys in a headless Chromium (cargo test -p e2e, after building \
             s3proxy; needs chromium, chromium-driver, ffmpeg, and nodejs and npm for the \
             certified OpenID Provider)"
        }
        "fuzz" => {
            "each fuzz target briefly from its seeds, on the pinned nightly (bash fuzz/run.sh 10)"
        }
        "smoke" => "the local stack end to end (cargo xtask smoke)",
        "bench" => {
            "the benchmark in quick mode and the lighter bench-quick profile, proving it \
             still works (cargo xtask bench --quick)"
        }
        "image" => {
            "the proxy's image, built offline from the bench step's bench-quick binary, run \
             in podman against the local stack (needs podman and runc)"
        }
        "compose" => "the compose file (docker compose config -q)",
        _ => "",
    }
}

fn step(name: &str) -> Result<Outcome> {
    // sso-client's test and a browser journey sign in through node-oidc-provider.
    if matches!(name, "test" | "e2e") {
        oidc_provider_harness()?;
    }
    let mut cargo = workspace::cargo();
    match name {
        "fmt" => cargo.args(["fmt", "--all", "--", "--check"]),
        "clippy" => cargo.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        "deps" => return unused_dependencies(),
        "doc" => cargo
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
        // The browser journeys run in their own step: without Chromium, this one still runs.
        "test" => cargo.args(["test", "--workspace", "--exclude", "e2e"]),
        "package" => return package::run().map(|()| Outcome::Passed),
        "e2e" => return e2e::run().map(|()| Outcome::Passed),
        "fuzz" => return fuzz(),
        "smoke" => return smoke::run().map(|()| Outcome::Passed),
        // No speed assertion: CI machines are noisy; this proves the benchmark runs.
        "bench" => return bench::run(&BenchOptions::quick()).map(|()| Outcome::Passed),
        "image" => return image::test().map(|()| Outcome::Passed),
        "compose" => return compose_config(),
        other => return Err(format!("no step named {other:?}")),
    };
    workspace::run(&mut cargo).map(|()| Outcome::Passed)
}

/// `npm ci` of the certified OpenID Provider's harness, once per run, before the first
/// step that needs it: its packages exactly as its lockfile pins them (from npm's cache
/// when it has them). Without Node.js 20 or npm it fails, saying how to get them.
fn oidc_provider_harness() -> Result<()> {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let install = "install them with `apt-get install -y nodejs npm` (or NodeSource's \
                   nodejs where the distribution's is older)";
    let missing: Vec<&str> = ["node", "npm"]
        .into_iter()
        .filter(|program| !on_path(program))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the certified OpenID Provider ({OIDC_PROVIDER_HARNESS}) needs Node.js \
             {NODE_MAJOR_AT_LEAST} or later and npm; missing: {}: {install}",
            missing.join(", ")
        ));
    }
    let version = launcher::probe(
        Command::new("node").arg("--version"),
        Duration::from_secs(20),
    )
    .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    .map_err(|e| format!("`node --version`: {e}"))?;
    match node_major(&version) {
        Some(major) if major >= NODE_MAJOR_AT_LEAST => {}
        _ => {
            return Err(format!(
                "the certified OpenID Provider ({OIDC_PROVIDER_HARNESS}) needs Node.js \
                 {NODE_MAJOR_AT_LEAST} or later, and `node --version` says {version:?}: {install}"
            ))
        }
    }
    let mut npm = Command::new("npm");
    npm.current_dir(workspace::root()).args([
        "ci",
        "--prefix",
        OIDC_PROVIDER_HARNESS,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
    ]);
    workspace::run(&mut npm)?;
    INSTALLED.store(true, Ordering::Relaxed);
    Ok(())
}

/// `20` of `v20.19.2`.
fn node_major(version: &str) -> Option<u32> {
    version.strip_prefix('v')?.split('.').next()?.parse().ok()
}

/// `bash fuzz/run.sh 10`: installs cargo-fuzz if missing, builds the targets (outside
/// the workspace, in `fuzz/target/`) and runs each one briefly on a copy of its seeds.
fn fuzz() -> Result<Outcome> {
    let mut command = Command::new("bash");
    command
        .current_dir(workspace::root())
        .args(["fuzz/run.sh", FUZZ_SECONDS]);
    workspace::run(&mut command).map(|()| Outcome::Passed)
}

/// `cargo machete`: every dependency of every manifest (the fuzz crate's too) is used.
/// It reads sources, not builds, so it takes seconds; a false positive is declared in
/// the manifest's `[package.metadata.cargo-machete] ignored`, with the reason beside it.
fn unused_dependencies() -> Result<Outcome> {
    let installed = launcher::probe(
        &mut machete(&["--version"]),
        std::time::Duration::from_secs(20),
    )
    .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == CARGO_MACHETE_VERSION);
    if !installed {
        println!("installing cargo-machete {CARGO_MACHETE_VERSION}");
        workspace::run(workspace::cargo().args([
            "install",
            "--locked",
            "cargo-machete",
            "--version",
            CARGO_MACHETE_VERSION,
        ]))?;
    }
    // Build folders (`target/`, `fuzz/target/`) may hold other crates' manifests.
    workspace::run(&mut machete(&["--skip-target-dir"])).map(|()| Outcome::Passed)
}

/// `cargo machete <args>`. It reads `CARGO_PKG_NAME`, which `cargo run` set for xtask,
/// as a sign of being run by `cargo run` rather than as `cargo machete`, and would then
/// take `machete` for a folder to search.
fn machete(args: &[&str]) -> Command {
    let mut command = workspace::cargo();
    command
        .arg("machete")
        .args(args)
        .env_remove("CARGO_PKG_NAME");
    command
}

/// `docker compose config -q`: validates the compose file; needs no engine.
fn compose_config() -> Result<Outcome> {
    if !on_path("docker") {
        return Ok(Outcome::Skipped(
            "no `docker` client on PATH, so the compose file was not checked".into(),
        ));
    }
    // A docker client without any compose is a machine's gap, not the project's fault.
    let mut command = match engine::compose_command() {
        Ok(command) => command,
        Err(why) => return Ok(Outcome::Skipped(why)),
    };
    command.args(["config", "-q"]);
    workspace::run(&mut command).map(|()| Outcome::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_major_reads_the_major_version() {
        assert_eq!(node_major("v20.19.2"), Some(20));
        assert_eq!(node_major("v18.20.4"), Some(18));
        assert_eq!(node_major("20.1.0"), None);
        assert_eq!(node_major(""), None);
    }
}
