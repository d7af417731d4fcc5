//! `sso-mock`: runs the mock SSO stand-alone, for local development.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use sso_mock::{random_string, MockConfig, SsoMock};
use tokio::net::TcpListener;

const USAGE: &str = "\
usage: sso-mock [--port PORT] [--bind ADDR] [--client-id ID] [--client-secret SECRET]
                [--code CODE] [--user EMAIL] [--auto-approve]

A stand-in for the SSO (OAuth2 server) for running s3proxy locally.

  --port PORT             TCP port (default 8081)
  --bind ADDR             IP address to listen on (default 127.0.0.1)
  --client-id ID          accepted OAuth2 client id (default s3proxy-local)
  --client-secret SECRET  accepted client secret (default s3proxy-local-secret)
  --code CODE             authorization code handed out (default: random)
  --user EMAIL            the signed-in user's email (default test.user@example.com)
  --auto-approve          redirect back at once instead of showing a Sign in page
  -h, --help              show this help

Log filter: RUST_LOG (default info).";

#[derive(Debug)]
struct Args {
    port: u16,
    bind: IpAddr,
    config: MockConfig,
}

/// `Ok(None)`: help was asked for.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut port = 8081;
    let mut bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut config = MockConfig {
        client_id: "s3proxy-local".into(),
        client_secret: "s3proxy-local-secret".into(),
        code: random_string(),
        // A fresh token per login, as the real SSO does.
        tokens: Vec::new(),
        login_page: true,
        ..MockConfig::default()
    };

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.into())),
            _ => (arg, None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| args.next()) {
                Some(value) => Ok(value),
                None => Err(format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => {
                let v = value("--port")?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {v:?}"))?;
            }
            "--bind" => {
                let v = value("--bind")?;
                bind = match v.as_str() {
                    "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    _ => v
                        .parse()
                        .map_err(|_| format!("--bind: not an IP address: {v:?}"))?,
                };
            }
            "--client-id" => config.client_id = value("--client-id")?,
            "--client-secret" => config.client_secret = value("--client-secret")?,
            "--code" => config.code = value("--code")?,
            "--user" => config.user_email = value("--user")?,
            "--auto-approve" if inline.is_none() => config.login_page = false,
            other => return Err(format!("unknown argument: {other:?}")),
        }
    }
    Ok(Some(Args { port, bind, config }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sso-mock: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

    let addr = SocketAddr::new(args.bind, args.port);
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "sso-mock: port {} is already in use (on {}); pick another with --port",
                args.port, args.bind
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("sso-mock: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    // Secrets (client secret, code, tokens) are never logged.
    log::info!(
        "client id {:?}, user {:?}, {}",
        args.config.client_id,
        args.config.user_email,
        if args.config.login_page {
            "showing a Sign in page"
        } else {
            "auto-approving logins"
        }
    );
    let mut mock = match SsoMock::start_with_listener(listener, args.config).await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("sso-mock: cannot start on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    println!("sso-mock listening on {}", mock.url());

    if let Err(e) = wait_for_signal().await {
        eprintln!("sso-mock: cannot wait for signals: {e}");
        mock.stop().await;
        return ExitCode::from(1);
    }
    log::info!("shutting down");
    mock.stop().await;
    ExitCode::SUCCESS
}

/// Returns on SIGINT (Ctrl-C) or SIGTERM (e.g. `docker stop`).
async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults() {
        let args = parse(&[]).unwrap().unwrap();
        assert_eq!(args.port, 8081);
        assert_eq!(args.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(args.config.client_id, "s3proxy-local");
        assert_eq!(args.config.client_secret, "s3proxy-local-secret");
        assert!(args.config.login_page);
        assert!(args.config.tokens.is_empty());
        assert_eq!(args.config.code.len(), 32);
    }

    #[test]
    fn all_flags() {
        let args = parse(&[
            "--port",
            "9000",
            "--bind=0.0.0.0",
            "--client-id",
            "id",
            "--client-secret=s",
            "--code",
            "c",
            "--user",
            "me@example.com",
            "--auto-approve",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.port, 9000);
        assert_eq!(args.bind, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(args.config.client_id, "id");
        assert_eq!(args.config.client_secret, "s");
        assert_eq!(args.config.code, "c");
        assert_eq!(args.config.user_email, "me@example.com");
        assert!(!args.config.login_page);
    }

    #[test]
    fn help_and_errors() {
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--port"])
            .unwrap_err()
            .contains("--port needs a value"));
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--port", "70000"]).is_err());
        assert!(parse(&["--bind", "nowhere"]).is_err());
        assert!(parse(&["--frobnicate"]).is_err());
        assert!(parse(&["--auto-approve=yes"]).is_err());
    }
}
