//! `s3proxy healthcheck`: asks the proxy on this machine for the healthcheck object and
//! exits 0 when it answers 200, 1 otherwise — a container health check (ECS, compose) for
//! an image without curl or a shell. It reads only `PORT` and `AWS_S3_HEALTHCHECK_KEY`,
//! so the rest of the configuration need not be valid (nor even set) where it runs.

use std::process::ExitCode;
use std::time::Duration;

use reqwest::Url;

/// The bound on the whole request, connecting included: under the 5 s that ECS and
/// compose give a health check command by default, process start included.
const LIMIT: Duration = Duration::from_secs(4);

pub fn run() -> ExitCode {
    match check() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("s3proxy healthcheck: {message}");
            ExitCode::FAILURE
        }
    }
}

fn check() -> Result<(), String> {
    let url = url(
        std::env::var("PORT").ok().as_deref(),
        std::env::var("AWS_S3_HEALTHCHECK_KEY").ok().as_deref(),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let client = reqwest::Client::builder()
        // A redirect (to the SSO) means the key is not the healthcheck key: unhealthy.
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        // Plain http on loopback: no certificate is ever checked, so none is loaded.
        .tls_certs_only([])
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    // Only the head is awaited: the body is never read.
    let request = client.get(url.clone()).send();
    let status = runtime
        .block_on(async { tokio::time::timeout(LIMIT, request).await })
        .map_err(|_| format!("no answer from {url} within {} s", LIMIT.as_secs()))?
        .map_err(|e| format!("GET {url}: {e}"))?
        .status();
    if status == reqwest::StatusCode::OK {
        Ok(())
    } else {
        Err(format!("GET {url} answered {status}"))
    }
}

/// `http://127.0.0.1:<PORT>/<key>`, the key percent-encoded segment by segment as the
/// proxy decodes it. The address, not `localhost`: no name lookup that could fail or
/// stall in a container without `/etc/hosts`.
fn url(port: Option<&str>, key: Option<&str>) -> Result<Url, String> {
    let port = match port.map(str::trim).filter(|p| !p.is_empty()) {
        None => return Err("PORT is not set".into()),
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|port| *port != 0)
            .ok_or("PORT must be a TCP port number (1-65535)")?,
    };
    let key = key
        .filter(|key| !key.is_empty())
        .ok_or("AWS_S3_HEALTHCHECK_KEY is not set")?;
    let mut url = Url::parse(&format!("http://127.0.0.1:{port}/"))
        .map_err(|e| format!("cannot make the URL: {e}"))?;
    url.path_segments_mut()
        .map_err(|()| "cannot make the URL: it has no path".to_owned())?
        .pop_if_empty()
        .extend(key.split('/'));
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn the_key_is_a_percent_encoded_path_on_loopback() {
        let url = |port, key| url(port, key).map(|u| u.to_string());
        assert_eq!(
            url(Some("8000"), Some("healthcheck.txt")).unwrap(),
            "http://127.0.0.1:8000/healthcheck.txt"
        );
        assert_eq!(
            url(Some(" 81 "), Some("checks/a b#?%.txt")).unwrap(),
            "http://127.0.0.1:81/checks/a%20b%23%3F%25.txt"
        );
    }

    #[test]
    fn port_and_key_problems_are_named() {
        for port in [None, Some(""), Some("0"), Some("65536"), Some("http")] {
            let err = url(port, Some("k")).unwrap_err();
            assert!(err.starts_with("PORT "), "{port:?}: {err}");
        }
        for key in [None, Some("")] {
            let err = url(Some("8000"), key).unwrap_err();
            assert!(err.starts_with("AWS_S3_HEALTHCHECK_KEY "), "{err}");
        }
    }
}
