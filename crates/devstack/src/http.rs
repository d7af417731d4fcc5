//! HTTP for the smoke test, the start of `up` and the benchmark's sign-in: reqwest's
//! blocking client, every redirect seen rather than followed.

use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::Result;

/// The limit on each request, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The session cookie's name (the proxy's, as the Python service named it).
const SESSION_COOKIE: &str = "assets_session_id";

/// A client for the local stack: no redirects followed (each hop is checked), no proxy
/// from the environment (everything here is on loopback), a timeout on every request.
pub fn client() -> Result<Client> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .user_agent("xtask")
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))
}

/// `GET url`, with the session cookie when there is one.
pub fn get(client: &Client, url: &str, cookie: Option<&str>) -> Result<Response> {
    let mut request = client.get(url);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().map_err(|e| format!("GET {url}: {e}"))
}

/// The `Location` of a 302, or an error naming `what` answered otherwise.
pub fn redirect(response: &Response, what: &str) -> Result<String> {
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok());
    match (response.status().as_u16(), location) {
        (302, Some(location)) => Ok(location.to_owned()),
        (status, location) => Err(format!(
            "{what}: expected a 302, got {status} with Location {location:?}"
        )),
    }
}

/// `assets_session_id=<id>` from a response's `Set-Cookie` headers.
pub fn session_cookie(response: &Response) -> Result<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok()?.split(';').next())
        .find(|pair| {
            pair.strip_prefix(SESSION_COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
                .is_some_and(|id| !id.is_empty())
        })
        .map(str::to_owned)
        .ok_or_else(|| format!("no session cookie was set: {:?}", response.headers()))
}

/// The body, with the request's failure named.
pub fn bytes(response: Response) -> Result<Vec<u8>> {
    let url = response.url().to_string();
    response
        .bytes()
        .map(|b| b.to_vec())
        .map_err(|e| format!("reading the body of {url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// One canned answer on a loopback port; returns the URL and the request received.
    fn serve_once(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/a?b", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap();
            stream.write_all(answer.as_bytes()).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        (url, server)
    }

    #[test]
    fn redirects_and_cookies_are_read_not_followed() {
        let (url, server) = serve_once(
            "HTTP/1.1 302 Found\r\nLocation: /next\r\nSet-Cookie: other=1; Path=/\r\n\
             Set-Cookie: assets_session_id=abc; HttpOnly; Path=/\r\nContent-Length: 0\r\n\r\n",
        );
        let response = get(&client().unwrap(), &url, Some("c=1")).unwrap();
        assert_eq!(redirect(&response, "the test").unwrap(), "/next");
        assert_eq!(session_cookie(&response).unwrap(), "assets_session_id=abc");
        let request = server.join().unwrap();
        assert!(request.starts_with("GET /a?b HTTP/1.1\r\n"), "{request}");
        assert!(request.contains("\r\ncookie: c=1\r\n"), "{request}");
    }

    #[test]
    fn other_answers_are_named() {
        let (url, server) = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        let response = get(&client().unwrap(), &url, None).unwrap();
        assert!(redirect(&response, "the test")
            .unwrap_err()
            .starts_with("the test: expected a 302, got 200"));
        assert!(session_cookie(&response).is_err());
        assert_eq!(bytes(response).unwrap(), b"ok");
        server.join().unwrap();
    }
}
