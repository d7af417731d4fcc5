//! One journey: a fresh stack and a fresh browser, run within a time limit, one at a
//! time, ending with a screenshot.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::Value;
use test_kit::{Stack, StackBuilder};

use crate::browser::Chromium;
use crate::paths::{proxy_bin, require, screenshot_dir};

/// The most a journey may take, start-up included (they take a few seconds each).
pub const JOURNEY_LIMIT: Duration = Duration::from_secs(60);

/// The most any single wait for the page may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// Journeys run one at a time, whatever the test harness's thread count: on a small,
/// busy machine several browsers at once would starve a playing video.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `journey` when no other journey runs, failing it if it takes longer than
/// `limit`. The limit drops the journey's future, and with it the browser and the stack.
pub async fn bounded(name: &str, limit: Duration, journey: impl Future<Output = ()>) {
    let _turn = TURN.lock().await;
    let started = Instant::now();
    match tokio::time::timeout(limit, journey).await {
        Ok(()) => eprintln!("{name}: passed in {:.1} s", started.elapsed().as_secs_f64()),
        Err(_) => panic!("{name}: did not finish within {} s", limit.as_secs()),
    }
}

/// Calls `check` every 100 ms until it gives a value; fails after `within`, saying
/// `what` was awaited.
pub async fn poll<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "waited {} s for {what}",
            within.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The stack (with the SSO mock's "Sign in" page) and a browser.
pub struct Journey {
    pub name: &'static str,
    pub stack: Stack,
    pub browser: Chromium,
}

impl Journey {
    /// Checks the tools first, so a machine without them fails with the install command
    /// before anything starts.
    pub async fn start(name: &'static str) -> Journey {
        Journey::start_with(name, |stack| stack).await
    }

    /// Like [`Journey::start`], with the stack changed by `configure` (the proxy's
    /// variables, the SSO mock's behaviour).
    pub async fn start_with(
        name: &'static str,
        configure: impl FnOnce(StackBuilder) -> StackBuilder,
    ) -> Journey {
        for tool in ["chromium", "chromedriver", "ffmpeg"] {
            require(tool);
        }
        let stack = configure(Stack::builder(proxy_bin()).sso(|c| c.login_page = true))
            .start()
            .await;
        let browser = Chromium::start().await;
        Journey {
            name,
            stack,
            browser,
        }
    }

    pub fn client(&self) -> &Client {
        self.browser.client()
    }

    /// The proxy's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        self.stack.proxy.url(path)
    }

    pub async fn goto(&self, path: &str) {
        self.client()
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    pub async fn current_url(&self) -> String {
        self.client()
            .current_url()
            .await
            .expect("current URL")
            .to_string()
    }

    /// Waits until the browser shows `url`.
    pub async fn wait_for_url(&self, url: &str) {
        let mut last = String::new();
        let found = tokio::time::timeout(WAIT, async {
            loop {
                last = self.current_url().await;
                if last == url {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        assert!(
            found.is_ok(),
            "expected the browser on {url}, it is on {last}"
        );
    }

    /// Runs `script` in the page and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client()
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        match self
            .js("return document.body ? document.body.innerText : ''")
            .await
        {
            Value::String(text) => text,
            other => panic!("innerText is {other}"),
        }
    }

    /// Waits until the page's visible text holds `needle`, and returns the text.
    pub async fn wait_for_text(&self, needle: &str) -> String {
        poll(&format!("a page saying {needle:?}"), WAIT, || async {
            let text = self.text().await;
            text.contains(needle).then_some(text)
        })
        .await
    }

    /// Waits until the page has an element matching `css`, and clicks it.
    pub async fn click(&self, css: &str) {
        let found = self
            .client()
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await;
        let element = match found {
            Ok(element) => element,
            Err(e) => panic!("no {css:?} on {}: {e}", self.current_url_or_error().await),
        };
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css:?}: {e}"));
    }

    async fn current_url_or_error(&self) -> String {
        match self.client().current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => format!("(no URL: {e})"),
        }
    }

    /// The bytes of the finished download `name`, once it is the only file in the
    /// browser's download folder (Chromium writes `*.crdownload` and renames it when
    /// complete).
    pub async fn downloaded(&self, name: &str) -> Vec<u8> {
        let downloads = self.browser.downloads().to_path_buf();
        let saved = poll("the download to finish", WAIT, || async {
            let names: Vec<String> = std::fs::read_dir(&downloads)
                .ok()?
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect();
            (names == [name]).then(|| downloads.join(name))
        })
        .await;
        std::fs::read(&saved).expect("read the download")
    }

    /// The value of the browser's cookie `name` for the page shown, if it has one.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.client()
            .get_named_cookie(name)
            .await
            .ok()
            .map(|c| c.value().to_string())
    }

    /// Waits until the SSO mock's sign-in page is shown, and returns its button's label.
    pub async fn expect_sign_in_page(&self) -> String {
        let sso = self.stack.sso.url();
        let authorize = format!("{sso}o/authorize/");
        poll("the SSO's sign-in page", WAIT, || async {
            let url = self.current_url().await;
            let title = self.client().title().await.ok()?;
            (url.starts_with(&authorize) && title == "Sign in").then_some(())
        })
        .await;
        self.client()
            .find(Locator::Css("form button[type=submit]"))
            .await
            .expect("the Sign in button")
            .text()
            .await
            .expect("the button's label")
    }

    /// Clicks "Sign in" on the SSO mock's page.
    pub async fn click_sign_in(&self) {
        let label = self.expect_sign_in_page().await;
        assert!(label.starts_with("Sign in"), "the button says {label:?}");
        self.client()
            .find(Locator::Css("form button[type=submit]"))
            .await
            .expect("the Sign in button")
            .click()
            .await
            .expect("click Sign in");
    }

    /// Opens `path` with no session, signs in, and waits to be back on `path`.
    pub async fn sign_in_at(&self, path: &str) {
        self.goto(path).await;
        self.click_sign_in().await;
        self.wait_for_url(&self.url(path)).await;
    }

    /// Saves the page as `target/e2e/<name>.png` and checks the file is a PNG.
    pub async fn screenshot(&self) -> PathBuf {
        self.screenshot_as(self.name).await
    }

    /// Saves the page as `target/e2e/<file>.png` (a step of a journey that shows more
    /// than its end) and checks the file is a PNG.
    pub async fn screenshot_as(&self, file: &str) -> PathBuf {
        let png = self.client().screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        let path = dir.join(format!("{file}.png"));
        std::fs::write(&path, &png).expect("write the screenshot");
        let saved = std::fs::read(&path).expect("read the screenshot back");
        assert!(
            saved.len() > 8 && saved.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is not a PNG ({} bytes)",
            path.display(),
            saved.len()
        );
        path
    }

    /// Takes the end state's screenshot and closes the browser.
    pub async fn finish(self) {
        self.screenshot().await;
        self.close().await;
    }

    /// Closes the browser, for a journey whose screenshots were taken on the way.
    pub async fn close(self) {
        self.browser.close().await;
    }
}
