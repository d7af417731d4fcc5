//! Local TCP ports: is one free, find a free one, does one accept connections.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::Result;

/// Checks that `port` can be listened on, on all interfaces (what s3proxy does;
/// a listener on 127.0.0.1 alone conflicts with that too). `who` names what wants it.
pub fn ensure_free(port: u16, who: &str) -> Result<()> {
    match TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AddrInUse => Err(format!(
            "port {port} is already in use, and {who} needs it. Stop what listens there \
             (`ss -ltnp 'sport = :{port}'` shows it; if it is a stack started with \
             `cargo xtask up --detach`, run `cargo xtask down`), or change the port in .env"
        )),
        Err(e) => Err(format!("cannot listen on port {port} for {who}: {e}")),
    }
}

/// A port free on the loopback interface right now.
pub fn free_port() -> Result<u16> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free local port: {e}"))
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_named() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(accepts(port));
        let err = ensure_free(port, "the test").unwrap_err();
        assert!(err.contains(&format!("port {port}")) && err.contains("the test"));
        drop(listener);
        assert!(!accepts(port));
        assert!(ensure_free(port, "the test").is_ok());
        assert_ne!(free_port().unwrap(), 0);
    }
}
