//! Running the server: folders, listener, connections, stop.

use crate::backend::Backend;
use crate::keys::Keys;
use crate::service::{self, Switches};
use crate::{S3Config, StoredHeaders};

use s3s::service::{S3Service, S3ServiceBuilder};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// Adds temporary credentials to a running [`S3Server`]. Cheap to clone.
#[derive(Clone)]
pub struct TemporaryCredentials(Keys);

impl TemporaryCredentials {
    /// Requests signed with `access_key` must carry `session_token`, signed; from
    /// `expires` on they are refused with `ExpiredToken`.
    pub fn add(
        &self,
        access_key: &str,
        secret_key: &str,
        session_token: &str,
        expires: std::time::SystemTime,
    ) {
        self.0
            .add_temporary(access_key, secret_key, session_token, expires);
    }
}

/// A running S3-compatible server; see the [crate docs](crate).
pub struct S3Server {
    addr: SocketAddr,
    root: PathBuf,
    switches: Arc<Switches>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl S3Server {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start(config: S3Config) -> io::Result<S3Server> {
        Self::start_on_port(0, config).await
    }

    /// Starts on 127.0.0.1:`port`; 0 picks a free port.
    pub async fn start_on_port(port: u16, config: S3Config) -> io::Result<S3Server> {
        Self::start_on_addr(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), config).await
    }

    /// Starts on `addr`, for when loopback is not enough (the binary's `--bind`).
    pub async fn start_on_addr(addr: SocketAddr, config: S3Config) -> io::Result<S3Server> {
        create_folders(&config)?;
        let keys = Keys::new(&config.access_key, &config.secret_key);
        let s3 = s3_service(&config, &keys)?;
        let switches = Arc::new(Switches::new(keys.clone()));
        switches.set_throttle(config.throttle_bytes_per_sec);

        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stop_requested) = oneshot::channel();
        let task = tokio::spawn(accept_loop(
            listener,
            s3,
            Arc::clone(&switches),
            stop_requested,
        ));
        Ok(S3Server {
            addr,
            root: config.root,
            switches,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The URL to give an S3 client, e.g. `http://127.0.0.1:9000`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The folder served, as given in [`S3Config::root`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder holding `bucket`'s objects: write a file there to create an object.
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    /// Stores `headers` with `bucket`/`key`, as if the object had been uploaded with them
    /// (write the object's file too).
    pub fn set_stored_headers(
        &self,
        bucket: &str,
        key: &str,
        headers: &StoredHeaders,
    ) -> io::Result<()> {
        crate::stored_headers::write(&self.root, bucket, key, headers)
    }

    /// Where temporary credentials (as STS issues them) are added while the server
    /// runs; a handle to give to whatever issues them.
    pub fn temporary_credentials(&self) -> TemporaryCredentials {
        TemporaryCredentials(self.switches.keys().clone())
    }

    /// HTTP requests received so far, counted before authentication.
    pub fn request_count(&self) -> usize {
        self.switches.request_count()
    }

    /// While on, requests are read but never answered (to test client timeouts).
    pub fn set_hang(&self, hang: bool) {
        self.switches.set_hang(hang);
    }

    /// Caps response bodies started from now on at `bytes_per_sec`; `None` removes the cap.
    pub fn set_throttle(&self, bytes_per_sec: Option<u64>) {
        self.switches.set_throttle(bytes_per_sec);
    }

    /// Stops listening and closes every open connection; returns once both are done,
    /// so the port can be bound again at once.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // An error means the loop is already gone, which is what we want.
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // Dropping the loop drops the listener and its JoinSet, which aborts the connections.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn create_folders(config: &S3Config) -> io::Result<()> {
    std::fs::create_dir_all(&config.root)?;
    for bucket in &config.buckets {
        std::fs::create_dir_all(config.root.join(bucket))?;
    }
    Ok(())
}

fn s3_service(config: &S3Config, keys: &Keys) -> io::Result<S3Service> {
    let mut builder = S3ServiceBuilder::new(Backend::new(&config.root)?);
    // SigV4 is checked with the region the client signed for, whatever it is.
    builder.set_auth(keys.clone());
    Ok(builder.build())
}

async fn accept_loop(
    listener: TcpListener,
    s3: S3Service,
    switches: Arc<Switches>,
    mut stop_requested: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop_requested => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, s3.clone(), Arc::clone(&switches)));
                }
                // E.g. out of file descriptors: keep serving the connections we have.
                Err(err) => {
                    log::warn!("accept failed: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            // Reap finished connections so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, s3: S3Service, switches: Arc<Switches>) {
    // Head and body go out in separate writes: without this, Nagle holds the body back
    // for the client's delayed ACK, some 40 ms per small object.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| service::handle(s3.clone(), Arc::clone(&switches), req));
    if let Err(err) = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        log::debug!("connection closed with an error: {err}");
    }
}
