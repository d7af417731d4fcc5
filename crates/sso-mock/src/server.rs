//! The listening socket, one task per connection, and stopping them all.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::MockConfig;
use crate::keys::KeyRing;
use crate::routes;
use crate::state::{lock, Shared, State};

/// A running mock SSO. See the [crate documentation](crate) for what it serves.
///
/// Dropping it aborts the server without waiting; call [`stop`](Self::stop)
/// to be sure the port is closed before going on.
#[derive(Debug)]
pub struct SsoMock {
    addr: SocketAddr,
    shared: Shared,
    /// Tells the accept loop to stop; `None` once stopped.
    shutdown: Option<oneshot::Sender<()>>,
    /// The accept loop, which owns the listener and every connection task.
    server: Option<JoinHandle<()>>,
}

impl SsoMock {
    /// Starts the mock on a free port of 127.0.0.1.
    pub async fn start(config: MockConfig) -> io::Result<SsoMock> {
        Self::start_on_port(0, config).await
    }

    /// Starts the mock on 127.0.0.1:`port` (0 picks a free port). Used to
    /// bring a mock back on the same port after [`stop`](Self::stop).
    pub async fn start_on_port(port: u16, config: MockConfig) -> io::Result<SsoMock> {
        let socket = TcpSocket::new_v4()?;
        // A restart on the same port must not be refused because of
        // connections the previous server closed (TIME_WAIT). A port another
        // socket is listening on is still refused.
        socket.set_reuseaddr(true)?;
        socket.bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))?;
        let listener = socket.listen(1024)?;
        Self::start_with_listener(listener, config).await
    }

    /// Serves on an already bound listener.
    pub async fn start_with_listener(
        listener: TcpListener,
        config: MockConfig,
    ) -> io::Result<SsoMock> {
        let addr = listener.local_addr()?;
        let mut state = State::new(config);
        state.base_url = root_url(addr).trim_end_matches('/').to_owned();
        let shared = Arc::new(Mutex::new(state));
        let (shutdown, shutdown_rx) = oneshot::channel();
        let server = tokio::spawn(serve(listener, shared.clone(), shutdown_rx));
        Ok(SsoMock {
            addr,
            shared,
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }

    /// The address the mock listens on (still answered after `stop`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the mock listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Root URL with a trailing slash, e.g. `http://127.0.0.1:40123/`: what
    /// the proxy's `SSO_URL` is set to. A wildcard bind address is given as
    /// loopback, which reaches it.
    pub fn url(&self) -> String {
        root_url(self.addr)
    }

    /// OpenID mode: the issuer, as discovery and the ID tokens give it
    /// ([`OidcMock::issuer`](crate::OidcMock::issuer), or [`url`](Self::url) without
    /// its trailing slash).
    pub fn issuer(&self) -> String {
        lock(&self.shared).issuer()
    }

    /// OpenID mode: replaces every signing key by a new one with a new `kid` (the old
    /// keys leave the JWKS), as a provider's key rotation does.
    pub fn rotate_keys(&self) -> Result<(), String> {
        let keys = KeyRing::generate()?;
        lock(&self.shared).keys = Some(keys);
        Ok(())
    }

    /// Requests to the discovery document so far.
    pub fn discovery_calls(&self) -> usize {
        lock(&self.shared).discovery_calls
    }

    /// Requests to `/o/jwks/` so far.
    pub fn jwks_calls(&self) -> usize {
        lock(&self.shared).jwks_calls
    }

    /// Requests to `/o/userinfo/` so far.
    pub fn userinfo_calls(&self) -> usize {
        lock(&self.shared).userinfo_calls
    }

    /// Requests to `/o/logout/` so far.
    pub fn end_session_calls(&self) -> usize {
        lock(&self.shared).end_session_calls
    }

    /// Every ID token `/o/token/` has handed out, oldest first.
    pub fn issued_id_tokens(&self) -> Vec<String> {
        lock(&self.shared).id_tokens.clone()
    }

    /// Changes the behaviour while running; requests arriving afterwards see
    /// the change.
    pub fn update(&self, f: impl FnOnce(&mut MockConfig)) {
        f(&mut lock(&self.shared).config);
    }

    /// Requests to `/o/authorize/` so far (GET and POST).
    pub fn authorize_calls(&self) -> usize {
        lock(&self.shared).authorize_calls
    }

    /// Requests to `/o/token/` so far.
    pub fn token_calls(&self) -> usize {
        lock(&self.shared).token_calls
    }

    /// Requests to `/api/v1/user/me/` so far.
    pub fn me_calls(&self) -> usize {
        lock(&self.shared).me_calls
    }

    /// Token requests whose PKCE verifier matched a challenge sent to `/o/authorize/`.
    pub fn pkce_verified(&self) -> usize {
        lock(&self.shared).pkce_verified
    }

    /// The PKCE challenges `/o/authorize/` has been sent (and then redirected).
    pub fn pkce_challenges(&self) -> usize {
        lock(&self.shared).pkce_challenges.len()
    }

    /// Every access token `/o/token/` has handed out, oldest first.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.shared).issued.clone()
    }

    /// Stops listening and closes every open connection (keep-alive and hung
    /// ones included), returning once they are closed: afterwards connecting
    /// to the port is refused. Calling it again does nothing.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // An error means the loop already ended, which is what we want.
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            // A join error can only be a panic in the loop; the socket is
            // closed either way, and a test helper must not panic on stop.
            if let Err(e) = server.await {
                log::error!("sso-mock server task failed: {e}");
            }
        }
    }
}

impl Drop for SsoMock {
    fn drop(&mut self) {
        // Aborting the loop drops its JoinSet, which aborts every connection,
        // so a test that panics before `stop` leaks no tasks.
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// `http://<addr>/`, a wildcard address given as loopback (which reaches it).
fn root_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(ip, addr.port()))
}

/// Accepts connections until told to stop, then closes the listener and
/// every connection before returning.
async fn serve(listener: TcpListener, shared: Shared, mut shutdown: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            // A dropped sender also ends the loop.
            _ = &mut shutdown => break,
            // Reap finished connections so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, shared.clone()));
                }
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of
                    // spinning, the condition is usually temporary.
                    log::warn!("sso-mock accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    // Aborts every connection task and waits until each has been dropped,
    // which closes its socket.
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, shared: Shared) {
    // Small request/response exchanges: do not let Nagle delay them.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(routes::handle(req, &shared).await) }
    });
    let result = http1::Builder::new()
        // Gives hyper's default header read timeout a clock, so a client
        // that never finishes its headers does not hold a task forever.
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(e) = result {
        log::debug!("sso-mock connection ended with an error: {e}");
    }
}
