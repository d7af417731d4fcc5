//! `dev-s3`: serves a folder as S3 (SigV4 checked, path-style), for local development.

use dev_s3::{S3Config, S3Server};

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Serves DIR/<bucket>/<key> as S3 objects (SigV4 checked, path-style), for local
/// development. Bucket folders are created when missing.
#[derive(Debug, PartialEq, Parser)]
#[command(name = "dev-s3", after_help = "Log level: RUST_LOG (default info).")]
struct Args {
    /// The folder holding one sub-folder per bucket
    #[arg(long, value_name = "DIR")]
    root: PathBuf,
    #[arg(long, default_value_t = 9000)]
    port: u16,
    /// The address to listen on
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// The only access key accepted in signatures
    #[arg(long, value_name = "KEY", default_value = "s3proxy-local")]
    access_key: String,
    /// Its secret
    #[arg(long, value_name = "SECRET", default_value = "s3proxy-local-secret")]
    secret_key: String,
    /// A bucket to serve (repeatable)
    #[arg(long = "bucket", value_name = "NAME", default_value = S3Config::DEFAULT_BUCKET)]
    buckets: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

    // Mistakes and `--help` end here: clap prints them, exiting 2 and 0.
    let args = Args::parse();

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
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::try_parse_from(std::iter::once("dev-s3").chain(args.iter().copied()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_declaration_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let args = parse(&["--root", "/srv"]).unwrap();
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
        let help = Args::try_parse_from(["dev-s3", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
    }
}
