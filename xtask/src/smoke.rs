//! `cargo xtask smoke`: the local stack end to end, as a browser would use it.
//!
//! `up --detach` (local defaults, `.env` ignored), then over plain HTTP: an anonymous
//! request is sent to the SSO mock, its Sign in form is posted, the callback sets the
//! session cookie, and objects come back byte for byte; then `down`, and nothing of the
//! stack may be left running or listening.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::devenv::DevEnv;
use crate::form::{resolve, Form};
use crate::http::{self, Response};
use crate::pidfile::{self, Entry};
use crate::workspace::dev_dir;
use crate::{ports, procs, signals, Result};

/// Bound on the login flow, once the stack is up (each request has its own timeout too).
const FLOW_LIMIT: Duration = Duration::from_secs(60);

pub fn run() -> Result<()> {
    // Ctrl-C must not leave a detached stack behind: it ends the flow, then `down` runs.
    signals::install()?;
    println!("smoke: starting the local stack with the local defaults (.env is ignored)");
    // If `up` fails it has already stopped what it started: nothing to take down.
    run_self(&["up", "--detach", "--no-env-file"])?;
    let started = Instant::now();
    let entries = pidfile::read().and_then(|e| e.ok_or("`up --detach` wrote no pid file".into()));
    let flow = match &entries {
        Ok(_) => login_flow(),
        Err(e) => Err(e.clone()),
    };
    // Always taken down, whatever happened above.
    println!("smoke: stopping the local stack");
    let down = run_self(&["down"]);
    let stopped = match &entries {
        Ok(entries) => check_stopped(entries),
        Err(_) => Ok(()),
    };
    let checks = flow.map_err(|e| format!("smoke test failed: {e}"))?;
    down?;
    stopped?;
    println!(
        "smoke: passed ({checks} checks in {:.1} s, and the stack is gone)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs this xtask binary with `args`, as `cargo xtask <args>` would. Not through
/// `cargo run`: that waits for the build lock, which another build may hold for
/// minutes while the stack is left running.
fn run_self(args: &[&str]) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find xtask itself: {e}"))?;
    // Rebuilt while running (an earlier step of `cargo xtask test`), Linux names the
    // old file "… (deleted)"; the new one at the same path serves as well.
    let exe = match exe.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
        Some(path) => PathBuf::from(path),
        None => exe,
    };
    let status = Command::new(&exe)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo xtask {}` failed ({status})",
            args.join(" ")
        ))
    }
}

/// The steps of a sign-in; returns how many checks passed.
fn login_flow() -> Result<usize> {
    let env = DevEnv::defaults();
    let proxy = format!("http://127.0.0.1:{}", env.proxy_port()?);
    let sso = env.get_or_default("SSO_URL");
    let health_key = env.get_or_default("AWS_S3_HEALTHCHECK_KEY");
    let mut checks = Checks::new();

    let r = checks.get(&format!("{proxy}/hello.txt"), None)?;
    let authorize = checks.redirect(&r, &format!("{sso}o/authorize/?"), "anonymous → SSO")?;

    let page = checks.get(&authorize, None)?;
    checks.status(&page, 200, "the SSO's Sign in page")?;
    let form = Form::parse(&page.text())?;
    checks.ok("the page has a form with hidden fields");

    let action = resolve(&authorize, &form.action);
    let r = checks.within_limit(|| http::post_form(&action, &form.fields))?;
    let callback = checks.redirect(
        &r,
        &format!("{proxy}/__redirect_from_sso?"),
        "Sign in → the proxy's callback",
    )?;

    let r = checks.get(&callback, None)?;
    checks.redirect(
        &r,
        &format!("{proxy}/hello.txt"),
        "callback → the original URL",
    )?;
    let cookie = session_cookie(&r)?;
    checks.ok("the callback set the session cookie");

    for key in ["hello.txt", "index.html", "pixel.png"] {
        let r = checks.get(&format!("{proxy}/{key}"), Some(&cookie))?;
        checks.status(&r, 200, &format!("{key} with the session"))?;
        checks.same_bytes(&r, key)?;
    }

    let r = checks.get(&format!("{proxy}/{health_key}"), None)?;
    checks.status(&r, 200, "the healthcheck without a session")?;
    checks.same_bytes(&r, health_key)?;
    Ok(checks.passed)
}

/// Counts passed checks, prints them, and holds the flow to its time limit.
struct Checks {
    passed: usize,
    deadline: Instant,
}

impl Checks {
    fn new() -> Checks {
        Checks {
            passed: 0,
            deadline: Instant::now() + FLOW_LIMIT,
        }
    }

    fn ok(&mut self, what: &str) {
        self.passed += 1;
        println!("  ok  {what}");
    }

    fn within_limit(&self, request: impl FnOnce() -> Result<Response>) -> Result<Response> {
        if signals::stop_requested() {
            return Err("interrupted".into());
        }
        if Instant::now() > self.deadline {
            return Err(format!(
                "the login flow took over {} s",
                FLOW_LIMIT.as_secs()
            ));
        }
        request()
    }

    fn get(&self, url: &str, cookie: Option<&str>) -> Result<Response> {
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
        self.within_limit(|| http::get(url, &headers))
    }

    fn status(&mut self, r: &Response, want: u16, what: &str) -> Result<()> {
        if r.status != want {
            return Err(format!(
                "{what}: expected status {want}, got {}: {}",
                r.status,
                r.text().chars().take(300).collect::<String>()
            ));
        }
        self.ok(&format!("{what}: {want}"));
        Ok(())
    }

    /// Checks a 302 whose Location starts with `prefix`; returns the Location.
    fn redirect(&mut self, r: &Response, prefix: &str, what: &str) -> Result<String> {
        let location = r.header("location").unwrap_or("");
        if r.status != 302 || !location.starts_with(prefix) {
            return Err(format!(
                "{what}: expected a 302 to {prefix}…, got {} with Location {location:?}",
                r.status
            ));
        }
        self.ok(&format!("{what}: 302"));
        Ok(location.to_owned())
    }

    /// The body must be the object as it is in the bucket folder.
    fn same_bytes(&mut self, r: &Response, key: &str) -> Result<()> {
        let path = bucket_dir().join(key);
        let expected =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if r.body != expected {
            return Err(format!(
                "{key}: the body ({} bytes) differs from {} ({} bytes)",
                r.body.len(),
                path.display(),
                expected.len()
            ));
        }
        self.ok(&format!("{key}: the exact bytes of the bucket's object"));
        Ok(())
    }
}

/// The local bucket's folder under the defaults.
fn bucket_dir() -> PathBuf {
    let (bucket, prefix) = DevEnv::defaults().bucket_and_prefix();
    dev_dir().join("s3").join(bucket).join(prefix)
}

/// `assets_session_id=<id>` from the Set-Cookie header.
fn session_cookie(r: &Response) -> Result<String> {
    r.headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .filter_map(|(_, value)| value.split(';').next())
        .find(|pair| pair.starts_with("assets_session_id=") && pair.len() > 18)
        .map(str::to_owned)
        .ok_or_else(|| format!("the callback set no session cookie: {:?}", r.headers))
}

/// After `down`: no process of the pid file runs, and none of their ports answers.
fn check_stopped(entries: &[Entry]) -> Result<()> {
    let mut problems = Vec::new();
    for entry in entries {
        if procs::is_alive(entry.pid) && procs::runs(entry.pid, &entry.name) {
            problems.push(format!("{} (pid {}) still runs", entry.name, entry.pid));
        }
        if ports::accepts(entry.port) {
            problems.push(format!(
                "port {} ({}) still accepts connections",
                entry.port, entry.name
            ));
        }
    }
    if pidfile::path().exists() {
        problems.push(format!("{} is still there", pidfile::path().display()));
    }
    if problems.is_empty() {
        println!("  ok  after down: no process left, ports closed, no pid file");
        Ok(())
    } else {
        Err(format!("after `down`: {}", problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie() {
        let r = Response {
            status: 302,
            headers: vec![
                ("set-cookie".into(), "other=1; Path=/".into()),
                (
                    "set-cookie".into(),
                    "assets_session_id=abc; HttpOnly; Path=/".into(),
                ),
            ],
            body: Vec::new(),
        };
        assert_eq!(session_cookie(&r).unwrap(), "assets_session_id=abc");
    }
}
