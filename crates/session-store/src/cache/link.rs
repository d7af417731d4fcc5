//! The tracking connection: a socket owned here rather than by the Redis client, so that
//! whatever Redis has already sent can be read at once, by whichever thread asks, without
//! waiting for a task to be scheduled (or for tokio's readiness flags to catch up).
//!
//! TCP, TLS over TCP (rustls, driven by hand over the non-blocking socket) and Unix
//! sockets. RESP3 frames are decoded with `redis-protocol`; commands are packed by the
//! `redis` crate.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;

use redis_protocol::resp3::decode::complete::decode;
use redis_protocol::resp3::types::OwnedFrame;
use rustls::pki_types::ServerName;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Where the tracking connection goes, and how it authenticates.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub target: Target,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: i64,
}

#[derive(Clone)]
pub(crate) enum Target {
    Tcp {
        host: String,
        port: u16,
    },
    Tls {
        host: String,
        port: u16,
        config: Arc<rustls::ClientConfig>,
    },
    Unix(PathBuf),
}

pub(crate) enum Socket {
    Tcp(std::net::TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// The socket's own `read`/`write` syscalls, for `&Socket` (what rustls drives).
struct Raw<'a>(&'a Socket);

impl Read for Raw<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0 {
            Socket::Tcp(s) => (&*s).read(buf),
            Socket::Unix(s) => (&*s).read(buf),
        }
    }
}

impl Write for Raw<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0 {
            Socket::Tcp(s) => (&*s).write(buf),
            Socket::Unix(s) => (&*s).write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Most bytes kept waiting for the end of a frame: far above any reply of ours (a
/// session's token, marker and profile); a Redis sending more is not one to trust.
const MAX_PENDING_BYTES: usize = 16 * 1024 * 1024;

pub(crate) struct Link {
    fd: Arc<AsyncFd<Socket>>,
    tls: Option<Box<rustls::ClientConnection>>,
    /// Received bytes; `start` is where the first undecoded frame begins.
    inbuf: Vec<u8>,
    start: usize,
}

/// What a non-blocking read found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// Everything that had arrived was read; the connection is open.
    Open,
    /// Redis closed the connection (what arrived before is still decoded).
    Closed,
}

impl Link {
    /// Connects (and for TLS, completes the handshake). The caller bounds the time.
    pub async fn connect(target: &Target) -> io::Result<Link> {
        let (socket, tls) = match target {
            Target::Tcp { host, port } => (tcp(host, *port).await?, None),
            Target::Tls { host, port, config } => {
                let name = ServerName::try_from(host.clone())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad TLS name"))?;
                let conn = rustls::ClientConnection::new(config.clone(), name)
                    .map_err(io::Error::other)?;
                (tcp(host, *port).await?, Some(Box::new(conn)))
            }
            Target::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path).await?.into_std()?;
                (Socket::Unix(stream), None)
            }
        };
        // SAFETY: `Socket` owns its descriptor (a std stream) for as long as it lives, and
        // `as_raw_fd` always returns that one.
        let fd = unsafe {
            AsyncFd::register_with_interest(socket, Interest::READABLE | Interest::WRITABLE)
        }?;
        let mut link = Link {
            fd: Arc::new(fd),
            tls,
            inbuf: Vec::with_capacity(4096),
            start: 0,
        };
        link.handshake_tls().await?;
        Ok(link)
    }

    /// The readiness handle, for a task to wait on while not holding the link.
    pub fn readiness(&self) -> Arc<AsyncFd<Socket>> {
        self.fd.clone()
    }

    async fn handshake_tls(&mut self) -> io::Result<()> {
        let Some(tls) = self.tls.as_mut() else {
            return Ok(());
        };
        while tls.is_handshaking() {
            while tls.wants_write() {
                let mut guard = self.fd.writable().await?;
                match guard.try_io(|fd| tls.write_tls(&mut Raw(fd.get_ref()))) {
                    Ok(result) => {
                        result?;
                    }
                    Err(_would_block) => continue,
                }
            }
            if tls.is_handshaking() && tls.wants_read() {
                let mut guard = self.fd.readable().await?;
                match guard.try_io(|fd| tls.read_tls(&mut Raw(fd.get_ref()))) {
                    Ok(Ok(0)) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(Ok(_)) => {
                        tls.process_new_packets().map_err(io::Error::other)?;
                    }
                    Ok(Err(e)) => return Err(e),
                    Err(_would_block) => continue,
                }
            }
        }
        Ok(())
    }

    /// Sends `bytes` whole, without waiting. A socket that cannot take a few hundred
    /// bytes at once has a peer that stopped reading: an error, like a broken one.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let socket = self.fd.get_ref();
        match self.tls.as_mut() {
            None => Raw(socket).write_all(bytes).map_err(stuck),
            Some(tls) => {
                tls.writer().write_all(bytes)?;
                while tls.wants_write() {
                    tls.write_tls(&mut Raw(socket)).map_err(stuck)?;
                }
                Ok(())
            }
        }
    }

    /// Reads whatever has arrived, without waiting: one `read` syscall at least, even
    /// when tokio has not yet noticed the socket is readable.
    pub fn receive(&mut self) -> io::Result<Received> {
        self.compact();
        let socket = self.fd.get_ref();
        let received = match self.tls.as_mut() {
            None => read_available(&mut Raw(socket), &mut self.inbuf)?,
            Some(tls) => receive_tls(tls, socket, &mut self.inbuf)?,
        };
        if self.inbuf.len() - self.start > MAX_PENDING_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "oversized reply from Redis",
            ));
        }
        Ok(received)
    }

    /// The next complete frame received, if any.
    pub fn next_frame(&mut self) -> io::Result<Option<OwnedFrame>> {
        match decode(&self.inbuf[self.start..]) {
            Ok(Some((frame, used))) => {
                self.start += used;
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unreadable reply from Redis: {:?}", e.kind()),
            )),
        }
    }

    /// Waits for the next frame (the handshake only, before the link is shared).
    pub async fn next_frame_waiting(&mut self) -> io::Result<OwnedFrame> {
        loop {
            if let Some(frame) = self.next_frame()? {
                return Ok(frame);
            }
            let fd = self.fd.clone();
            let mut guard = fd.readable().await?;
            if self.receive()? == Received::Closed {
                if let Some(frame) = self.next_frame()? {
                    return Ok(frame);
                }
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            // Everything was read: wait for tokio's next readiness event.
            guard.clear_ready();
        }
    }

    fn compact(&mut self) {
        if self.start > 0 && self.start == self.inbuf.len() {
            self.inbuf.clear();
            self.start = 0;
        } else if self.start > 64 * 1024 {
            self.inbuf.drain(..self.start);
            self.start = 0;
        }
    }
}

async fn tcp(host: &str, port: u16) -> io::Result<Socket> {
    let stream = tokio::net::TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    Ok(Socket::Tcp(stream.into_std()?))
}

/// TLS records read as they come, each one's plaintext taken out at once (rustls holds
/// only so much of it).
fn receive_tls(
    tls: &mut rustls::ClientConnection,
    socket: &Socket,
    into: &mut Vec<u8>,
) -> io::Result<Received> {
    loop {
        let read = match tls.read_tls(&mut Raw(socket)) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Received::Open),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if read > 0 {
            tls.process_new_packets().map_err(io::Error::other)?;
        }
        match read_available(&mut tls.reader(), into) {
            Ok(Received::Open) if read > 0 => {}
            // `close_notify`, or the socket's end.
            Ok(_) => return Ok(Received::Closed),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Received::Closed),
            Err(e) => return Err(e),
        }
    }
}

/// Reads until the reader would block (`Open`) or ends (`Closed`).
fn read_available(reader: &mut impl Read, into: &mut Vec<u8>) -> io::Result<Received> {
    let mut chunk = [0u8; 8192];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(Received::Closed),
            Ok(n) => into.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Received::Open),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn stuck(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(
            io::ErrorKind::TimedOut,
            "Redis is not reading its connection",
        )
    } else {
        e
    }
}
