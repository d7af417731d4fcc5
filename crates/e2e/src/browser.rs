//! A headless Chromium behind its own chromedriver, with a fresh profile and download
//! folder; everything it started is stopped when it is dropped, even on a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::paths::require;
use crate::procs::{kill_tree, running_with};

/// How long chromedriver may take to listen, and Chromium to open a session.
const START_LIMIT: Duration = Duration::from_secs(30);

/// The flags that run Chromium here: as root (no sandbox), without a display or GPU,
/// on a closed network (nothing fetched in the background, and no host name resolved:
/// the journeys use loopback addresses, and a page's reference to the internet, such as
/// node-oidc-provider's web font, fails at once rather than waiting on the network),
/// and letting a video play without a click.
const FLAGS: [&str; 14] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--window-size=1024,768",
];

pub struct Chromium {
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
    downloads: PathBuf,
    driver_log: PathBuf,
    /// Holds the profile, the downloads and chromedriver's log; removed on drop.
    _dir: tempfile::TempDir,
}

impl Chromium {
    /// Starts chromedriver on a free loopback port and opens a Chromium session.
    pub async fn start() -> Chromium {
        let chromium = require("chromium");
        let chromedriver = require("chromedriver");
        let dir = tempfile::tempdir().expect("temp dir for the browser");
        let profile = dir.path().join("profile");
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("download folder");
        let driver_log = dir.path().join("chromedriver.log");
        let port = test_kit::free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", driver_log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // In the test's process group, so that `cargo xtask test` stopping a run that
            // overran stops the browser too.
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run chromedriver: {e}"));
        let mut browser = Chromium {
            client: None,
            driver,
            profile: profile.clone(),
            downloads,
            driver_log,
            _dir: dir,
        };
        let deadline = Instant::now() + START_LIMIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = browser.driver.try_wait() {
                panic!(
                    "chromedriver exited at start ({status}):\n{}",
                    browser.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port} within {} s:\n{}",
                START_LIMIT.as_secs(),
                browser.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let capabilities = capabilities(&chromium, &profile, &browser.downloads);
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let url = format!("http://127.0.0.1:{port}");
        let left = deadline.saturating_duration_since(Instant::now());
        let client = match tokio::time::timeout(left, builder.connect(&url)).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!("Chromium did not start: {e}\n{}", browser.log()),
            Err(_) => panic!(
                "Chromium did not start within {} s:\n{}",
                START_LIMIT.as_secs(),
                browser.log()
            ),
        };
        browser.client = Some(client);
        browser
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    /// The folder downloads are saved in, empty at start.
    pub fn downloads(&self) -> &Path {
        &self.downloads
    }

    /// The end of chromedriver's log, for failure messages.
    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(&self.driver_log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Ends the session (Chromium quits and tidies its profile), stops chromedriver, and
    /// checks that no process of this browser is left.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        }
        self.stop();
        let profile = self.profile.display().to_string();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = running_with(&profile);
            if left.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "browser processes still running after the end: {left:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(&mut self) {
        if self.driver.try_wait().ok().flatten().is_none() {
            kill_tree(self.driver.id());
        }
        let _ = self.driver.wait();
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.stop();
    }
}

fn capabilities(chromium: &Path, profile: &Path, downloads: &Path) -> Capabilities {
    let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
    // A fresh profile each time: no cookie, cache or setting survives a journey.
    args.push(format!("--user-data-dir={}", profile.display()));
    let capabilities = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        // No WebDriver command may wait forever; the journeys poll with their own limits.
        "timeouts": { "implicit": 0, "pageLoad": 20_000, "script": 15_000 },
        "goog:chromeOptions": {
            "binary": chromium,
            "args": args,
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
            },
        },
    });
    match capabilities {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a JSON object"),
    }
}
