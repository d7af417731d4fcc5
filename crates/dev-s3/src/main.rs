//! `dev-s3`: serves a folder as S3 (SigV4 checked, path-style), for local development.

use dev_s3::{S3Config, S3Server};

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: dev-s3 --root DIR [--port 9000] [--bind 127.0.0.1] [--access-key K] [--secret-key S] [--bucket NAME]...

Serves DIR/<bucket>/<key> as S3 objects. --bucket may be repeated (default: my-bucket);
bucket folders are created when missing. Log level: RUST_LOG (default info).";

/// The command line, checked.
#[derive(Debug, PartialEq)]
struct Args {
    root: PathBuf,
    port: u16,
    bind: IpAddr,
    access_key: String,
    secret_key: String,
    buckets: Vec<String>,
}

/// `Ok(None)` when help was asked for.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut root = None;
    let mut port = 9000;
    let mut bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut access_key = "s3proxy-local".to_owned();
    let mut secret_key = "s3proxy-local-secret".to_owned();
    let mut buckets = Vec::new();

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("{flag} needs a value")),
        };
        match flag.as_str() {
            "--root" => root = Some(PathBuf::from(value)),
            "--port" => {
                port = value
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {value}"))?
            }
            "--bind" => {
                bind = value
                    .parse()
                    .map_err(|_| format!("--bind: not an IP address: {value}"))?
            }
            "--access-key" => access_key = value,
            "--secret-key" => secret_key = value,
            "--bucket" => buckets.push(value),
            _ => return Err(format!("unknown option: {flag}")),
        }
    }
    let root = root.ok_or("--root is required")?;
    if buckets.is_empty() {
        buckets.push(S3Config::DEFAULT_BUCKET.to_owned());
    }
    Ok(Some(Args {
        root,
        port,
        bind,
        access_key,
        secret_key,
        buckets,
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("dev-s3: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let addr = SocketAddr::new(args.bind, args.port);
    let config = S3Config {
        root: args.root,
        access_key: args.access_key,
        secret_key: args.secret_key,
        buckets: args.buckets,
        throttle_bytes_per_sec: None,
    };
    let mut server = match S3Server::start_on_addr(addr, config).await {
        Ok(server) => server,
        Err(err) if err.kind() == io::ErrorKind::AddrInUse => {
            eprintln!(
                "dev-s3: port {} is already in use on {}",
                args.port, args.bind
            );
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("dev-s3: cannot start on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Handlers first: whoever reads the announcement may signal at once.
    let stop = shutdown_signal();
    println!(
        "dev-s3 listening on {} serving {}",
        server.endpoint(),
        server.root().display()
    );

    if let Err(err) = stop.await {
        eprintln!("dev-s3: cannot listen for signals: {err}");
    }
    log::info!("stopping");
    server.stop().await;
    ExitCode::SUCCESS
}

/// Installs the SIGINT and SIGTERM handlers now; the future resolves on either.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = io::Result<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let handlers = signal(SignalKind::terminate())
        .and_then(|term| signal(SignalKind::interrupt()).map(|int| (term, int)));
    async move {
        let (mut term, mut int) = handlers?;
        tokio::select! {
            _ = int.recv() => Ok(()),
            _ = term.recv() => Ok(()),
        }
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = io::Result<()>> {
    tokio::signal::ctrl_c()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults() {
        let args = parse(&["--root", "/srv"]).unwrap().unwrap();
        assert_eq!(args.port, 9000);
        assert_eq!(args.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(args.access_key, "s3proxy-local");
        assert_eq!(args.secret_key, "s3proxy-local-secret");
        assert_eq!(args.buckets, ["my-bucket"]);
    }

    #[test]
    fn all_options_both_spellings() {
        let args = parse(&[
            "--root=/srv",
            "--port",
            "9100",
            "--bind=0.0.0.0",
            "--access-key",
            "k",
            "--secret-key=s",
            "--bucket",
            "a",
            "--bucket=b",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.root, PathBuf::from("/srv"));
        assert_eq!(args.port, 9100);
        assert_eq!(args.bind, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(
            (args.access_key.as_str(), args.secret_key.as_str()),
            ("k", "s")
        );
        assert_eq!(args.buckets, ["a", "b"]);
    }

    #[test]
    fn errors() {
        assert!(parse(&[]).unwrap_err().contains("--root"));
        assert!(parse(&["--root", "/srv", "--port", "x"]).is_err());
        assert!(parse(&["--root"]).is_err());
        assert!(parse(&["--nope", "1"]).is_err());
        assert_eq!(parse(&["--help"]), Ok(None));
    }
}
