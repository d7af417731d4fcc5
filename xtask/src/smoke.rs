//! `cargo xtask smoke`: the local stack end to end, as a browser would use it.
//!
//! `up --detach` (local defaults, `.env` ignored), then over plain HTTP: an anonymous
//! request is sent to the SSO mock, its Sign in page shows, the sign-in is posted, the
//! callback sets the session cookie, objects come back byte for byte, a range of one
//! too; then `down`, and nothing of the stack may be left running or listening.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use devstack::devenv::DevEnv;
use devstack::workspace::dev_dir;
use devstack::{http, signals, Result};
use launcher::Entry;
use reqwest::blocking::{Client, Response};
use reqwest::header::{COOKIE, RANGE};
use reqwest::Url;

use crate::up::pidfile;

/// Bound on the login flow, once the stack is up (each request has its own timeout too).
const FLOW_LIMIT: Duration = Duration::from_secs(60);

pub fn run() -> Result<()> {
    // Ctrl-C must not leave a detached stack behind: it ends the flow, then `down` runs.
    signals::install()?;
    println!("smoke: starting the local stack with the local defaults (.env is ignored)");
    // If `up` fails it has already stopped what it started: nothing to take down.
    run_self(&["up", "--detach", "--no-env-file"])?;
    let started = Instant::now();
    let entries = pidfile()
        .read()
        .and_then(|e| e.ok_or("`up --detach` wrote no pid file".into()));
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
    let mut command = Command::new(&exe);
    let status = command
        .args(args)
        .status()
        .map_err(|e| launcher::spawn_error("xtask itself", &command, &e))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo xtask {}` failed ({status})",
            args.join(" ")
        ))
    }
}

/// The steps of a sign-in against the proxy on the defaults' `PORT` (a process of the
/// local stack, or the image step's container); returns how many checks passed.
pub fn login_flow() -> Result<usize> {
    let env = DevEnv::defaults();
    let proxy = format!("http://127.0.0.1:{}", env.proxy_port()?);
    let sso = env.get_or_default("SSO_URL");
    let health_key = env.get_or_default("AWS_S3_HEALTHCHECK_KEY");
    let mut checks = Checks::new()?;

    let r = checks.get(&format!("{proxy}/hello.txt"), None)?;
    let authorize = checks.redirect(&r, &format!("{sso}o/authorize/?"), "anonymous → SSO")?;

    let page = checks.get(&authorize, None)?;
    let page =
        String::from_utf8_lossy(&checks.status(page, 200, "the SSO's Sign in page")?).into_owned();
    // The mock's form posts the authorize request's own parameters back to its path, so
    // those are the fields to send: nothing of the page needs reading but that promise.
    if !page.contains("<form method=\"post\" action=\"/o/authorize/\">") {
        return Err(format!(
            "the Sign in page has no form posting to /o/authorize/: {page}"
        ));
    }
    checks.ok("the page's form posts to /o/authorize/");
    let mut action = Url::parse(&authorize).map_err(|e| format!("{authorize}: {e}"))?;
    let fields: Vec<(String, String)> = action.query_pairs().into_owned().collect();
    action.set_query(None);
    let post = checks.client.post(action).form(&fields);
    let r = checks.within_limit(|| post.send().map_err(|e| format!("POST the sign-in: {e}")))?;
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
    let cookie = http::session_cookie(&r)?;
    checks.ok("the callback set the session cookie");

    for key in ["hello.txt", "index.html", "pixel.png"] {
        let r = checks.get(&format!("{proxy}/{key}"), Some(&cookie))?;
        let body = checks.status(r, 200, &format!("{key} with the session"))?;
        checks.same_bytes(&body, key)?;
    }

    let url = format!("{proxy}/hello.txt");
    let ranged = checks
        .client
        .get(&url)
        .header(COOKIE, &cookie)
        .header(RANGE, "bytes=6-9");
    let r = checks.within_limit(|| ranged.send().map_err(|e| format!("GET {url}: {e}")))?;
    let body = checks.status(r, 206, "bytes 6-9 of hello.txt")?;
    // A developer's own hello.txt may be shorter.
    if object("hello.txt")?.get(6..10) != Some(&body[..]) {
        return Err(format!("bytes 6-9 of hello.txt: got {body:?}"));
    }
    checks.ok("the range: those 4 bytes of the object");

    let r = checks.get(&format!("{proxy}/{health_key}"), None)?;
    let body = checks.status(r, 200, "the healthcheck without a session")?;
    checks.same_bytes(&body, health_key)?;
    Ok(checks.passed)
}

/// Counts passed checks, prints them, and holds the flow to its time limit.
struct Checks {
    client: Client,
    passed: usize,
    deadline: Instant,
}

impl Checks {
    fn new() -> Result<Checks> {
        Ok(Checks {
            client: http::client()?,
            passed: 0,
            deadline: Instant::now() + FLOW_LIMIT,
        })
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
        self.within_limit(|| http::get(&self.client, url, cookie))
    }

    /// Checks the status; returns the body.
    fn status(&mut self, r: Response, want: u16, what: &str) -> Result<Vec<u8>> {
        let status = r.status().as_u16();
        let body = http::bytes(r)?;
        if status != want {
            return Err(format!(
                "{what}: expected status {want}, got {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
        self.ok(&format!("{what}: {want}"));
        Ok(body)
    }

    /// Checks a 302 whose Location starts with `prefix`; returns the Location.
    fn redirect(&mut self, r: &Response, prefix: &str, what: &str) -> Result<String> {
        let location = http::redirect(r, what)?;
        if !location.starts_with(prefix) {
            return Err(format!(
                "{what}: expected a 302 to {prefix}…, got one to {location:?}"
            ));
        }
        self.ok(&format!("{what}: 302"));
        Ok(location)
    }

    /// The body must be the object as it is in the bucket folder.
    fn same_bytes(&mut self, body: &[u8], key: &str) -> Result<()> {
        let expected = object(key)?;
        if body != expected {
            return Err(format!(
                "{key}: the body ({} bytes) differs from the bucket's object ({} bytes)",
                body.len(),
                expected.len()
            ));
        }
        self.ok(&format!("{key}: the exact bytes of the bucket's object"));
        Ok(())
    }
}

/// An object of the local bucket (under the defaults), read from its folder.
fn object(key: &str) -> Result<Vec<u8>> {
    let (bucket, prefix) = DevEnv::defaults().bucket_and_prefix();
    let path = dev_dir().join("s3").join(bucket).join(prefix).join(key);
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// After `down`: no process of the pid file runs, and none of their ports answers.
fn check_stopped(entries: &[Entry]) -> Result<()> {
    let mut problems = Vec::new();
    for entry in entries {
        if launcher::is_alive(entry.pid) && launcher::runs(entry.pid, &entry.name) {
            problems.push(format!("{} (pid {}) still runs", entry.name, entry.pid));
        }
        if launcher::accepts(entry.port) {
            problems.push(format!(
                "port {} ({}) still accepts connections",
                entry.port, entry.name
            ));
        }
    }
    if pidfile().path().exists() {
        problems.push(format!("{} is still there", pidfile().path().display()));
    }
    if problems.is_empty() {
        println!("  ok  after down: no process left, ports closed, no pid file");
        Ok(())
    } else {
        Err(format!("after `down`: {}", problems.join("; ")))
    }
}
