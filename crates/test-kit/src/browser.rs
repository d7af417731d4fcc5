//! A minimal browser: a cookie jar and redirects followed one by one, so tests can see
//! every hop.

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{StatusCode, Url};

/// The final answer of a navigation, and the redirects on the way.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Every `Location` followed, in order.
    pub redirects: Vec<String>,
    /// The `Set-Cookie` headers seen on the way.
    pub set_cookies: Vec<String>,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
    /// Stop following redirects after this many.
    pub max_redirects: usize,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new() -> Browser {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("http client");
        Browser {
            client,
            jar,
            max_redirects: 20,
        }
    }

    /// A browser that never sends or keeps cookies.
    pub fn without_cookies() -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("http client");
        Browser {
            client,
            jar: Arc::new(Jar::default()),
            max_redirects: 20,
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The cookies the jar would send to `url`.
    pub fn cookies_for(&self, url: &str) -> Option<String> {
        let url = Url::parse(url).ok()?;
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_string))
    }

    /// Puts a cookie in the jar as if `url` had set it.
    pub fn add_cookie(&self, cookie: &str, url: &str) {
        if let Ok(url) = Url::parse(url) {
            self.jar.add_cookie_str(cookie, &url);
        }
    }

    /// GET, following redirects.
    pub async fn get(&self, url: &str) -> Page {
        self.get_with(url, &[]).await
    }

    /// GET with extra headers on every hop, following redirects.
    pub async fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Page {
        let mut url = Url::parse(url).expect("url");
        let mut redirects = Vec::new();
        let mut set_cookies = Vec::new();
        loop {
            let mut request = self.client.get(url.clone());
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            let response = request.send().await.expect("request");
            let status = response.status();
            let response_headers = response.headers().clone();
            set_cookies.extend(
                response_headers
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_string)),
            );
            let body = response.bytes().await.expect("body").to_vec();
            let location = response_headers
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_string);
            match location {
                Some(location)
                    if status.is_redirection() && redirects.len() < self.max_redirects =>
                {
                    url = url.join(&location).expect("location url");
                    redirects.push(location);
                }
                _ => {
                    return Page {
                        status,
                        headers: response_headers,
                        body,
                        redirects,
                        set_cookies,
                    }
                }
            }
        }
    }
}
