//! A TCP relay in front of a server that, when armed, drops a kept-alive connection
//! just as its next request arrives — what a client sees when the server closed a pooled
//! connection while it sat idle, and the close crossed the new request on the wire.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct StaleConnections {
    addr: SocketAddr,
    armed: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl StaleConnections {
    /// Relays to `upstream` (`host:port`).
    pub async fn start(upstream: SocketAddr) -> StaleConnections {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
        let addr = listener.local_addr().expect("its address");
        let armed = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (a, d) = (armed.clone(), dropped.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (armed, dropped) = (a.clone(), d.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, armed, dropped).await;
                    }
                });
            }
        });
        StaleConnections {
            addr,
            armed,
            dropped,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`, to use as the server's endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next request on a connection that already served one is dropped (once).
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Connections dropped so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

impl Drop for StaleConnections {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    armed: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    // Bodiless requests (GET, HEAD): each ends at a blank line.
    let mut requests_seen = 0usize;
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match client_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let starts_request = tail.is_empty();
        if starts_request && requests_seen >= 1 && armed.swap(false, Ordering::SeqCst) {
            dropped.fetch_add(1, Ordering::SeqCst);
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        while let Some(end) = tail.windows(4).position(|w| w == b"\r\n\r\n") {
            requests_seen += 1;
            tail.drain(..end + 4);
        }
        if server_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    back.abort();
}
