//! The `e2e` step of `cargo xtask test`: the browser journeys of `crates/e2e` in a real
//! headless Chromium, against a freshly built proxy, within a time limit.

use std::os::unix::process::CommandExt;
use std::thread::sleep;
use std::time::{Duration, Instant};

use devstack::workspace::{self, on_path};
use devstack::{signals, Result};

/// Debian's packages behind each tool the journeys drive.
const TOOLS: [(&str, &str); 3] = [
    ("chromium", "chromium"),
    ("chromedriver", "chromium-driver"),
    ("ffmpeg", "ffmpeg"),
];

/// The whole run, once built. The journeys take about half a minute and each has its
/// own one-minute limit; this only catches a run that hangs outside them.
const RUN_LIMIT: Duration = Duration::from_secs(8 * 60);

pub fn run() -> Result<()> {
    // Checked before compiling: a machine without a browser fails at once, saying how
    // to get one, and is never skipped.
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(program, _)| !on_path(program))
        .map(|(_, package)| *package)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the browser end-to-end tests need {}: install them with \
             `apt-get install -y chromium chromium-driver ffmpeg`",
            missing.join(", ")
        ));
    }
    workspace::run(workspace::cargo().args(["build", "--package", "s3proxy", "--bin", "s3proxy"]))?;
    workspace::run(workspace::cargo().args(["test", "--package", "e2e", "--no-run"]))?;

    let mut cargo = workspace::cargo();
    cargo
        .args(["test", "--package", "e2e"])
        .env("S3PROXY_BIN", workspace::binary("s3proxy", "dev"));
    // Its own process group, so that a run past the limit (or a Ctrl-C) can be stopped
    // with everything it started: the proxy, redis-server, chromedriver and Chromium.
    cargo.process_group(0);
    signals::install()?;
    let shown = workspace::show(&cargo);
    println!("$ {shown} (at most {} s)", RUN_LIMIT.as_secs());
    let mut child = cargo
        .spawn()
        .map_err(|e| launcher::spawn_error(&format!("`{shown}`"), &cargo, &e))?;
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("`{shown}` failed ({status})"))
            };
        }
        let why = if signals::stop_requested() {
            "interrupted".to_string()
        } else if Instant::now() > deadline {
            format!("did not finish within {} s", RUN_LIMIT.as_secs())
        } else {
            sleep(launcher::POLL);
            continue;
        };
        launcher::signal_group(child.id(), libc::SIGKILL);
        let _ = child.wait();
        return Err(format!("`{shown}` {why}: stopped, with what it started"));
    }
}
