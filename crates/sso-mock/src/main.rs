//! `sso-mock`: runs the mock SSO stand-alone, for local development.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use sso_mock::{random_string, MockConfig, OidcMock, SsoMock};
use tokio::net::TcpListener;

/// A stand-in for the SSO (OAuth2 server) for running s3proxy locally.
#[derive(Debug, Parser)]
#[command(name = "sso-mock", after_help = "Log filter: RUST_LOG (default info).")]
struct Args {
    /// TCP port
    #[arg(long, default_value_t = 8081)]
    port: u16,
    /// IP address to listen on (or `localhost`)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1", value_parser = parse_bind)]
    bind: IpAddr,
    /// The accepted OAuth2 client id
    #[arg(long, value_name = "ID", default_value = "s3proxy-local")]
    client_id: String,
    /// The accepted client secret
    #[arg(long, value_name = "SECRET", default_value = "s3proxy-local-secret")]
    client_secret: String,
    /// The authorization code handed out [default: random]
    #[arg(long)]
    code: Option<String>,
    /// The signed-in user's email
    #[arg(long, value_name = "EMAIL", default_value = "test.user@example.com")]
    user: String,
    /// A group the signed-in user is in (repeat for more): `groups` of user/me, and the
    /// groups claim in OpenID mode
    #[arg(long = "group", value_name = "NAME")]
    groups: Vec<String>,
    /// Redirect back at once instead of showing a Sign in page
    #[arg(long)]
    auto_approve: bool,
    /// Be an OpenID Provider too: discovery, JWKS, signed ID tokens, userinfo, end-session
    /// (for s3proxy with SSO_PROVIDER=oidc)
    #[arg(long)]
    oidc: bool,
    /// The OpenID issuer: s3proxy's SSO_URL [default: http://<bind>:<port>]
    #[arg(long, value_name = "URL", requires = "oidc")]
    issuer: Option<String>,
}

impl Args {
    fn config(&self) -> MockConfig {
        MockConfig {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            code: self.code.clone().unwrap_or_else(random_string),
            // A fresh token per login, as the real SSO does.
            tokens: Vec::new(),
            login_page: !self.auto_approve,
            user_email: self.user.clone(),
            user_groups: (!self.groups.is_empty()).then(|| self.groups.clone()),
            oidc: self.oidc.then(|| OidcMock {
                // Without a trailing slash, as most providers write it: either way
                // matches an SSO_URL with or without one.
                issuer: self
                    .issuer
                    .as_ref()
                    .map(|i| i.trim_end_matches('/').to_owned()),
                groups: if self.groups.is_empty() {
                    OidcMock::default().groups
                } else {
                    Some(self.groups.clone())
                },
                ..OidcMock::default()
            }),
            ..MockConfig::default()
        }
    }
}

fn parse_bind(value: &str) -> Result<IpAddr, String> {
    match value {
        "localhost" => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        _ => value
            .parse()
            .map_err(|_| format!("not an IP address: {value:?}")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Mistakes and `--help` end here: clap prints them, exiting 2 and 0.
    let args = Args::parse();
    let config = args.config();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

    let addr = SocketAddr::new(args.bind, args.port);
    // Handlers before the port accepts: whoever sees it ready may signal at once.
    let stop = shutdown_signal();
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
        "client id {:?}, user {:?}, {}{}",
        config.client_id,
        config.user_email,
        if config.login_page {
            "showing a Sign in page"
        } else {
            "auto-approving logins"
        },
        if config.oidc.is_some() {
            ", OpenID Provider mode"
        } else {
            ""
        }
    );
    let mut mock = match SsoMock::start_with_listener(listener, config).await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("sso-mock: cannot start on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    println!("sso-mock listening on {}", mock.url());
    if args.oidc {
        println!("OpenID issuer: {}", mock.issuer());
    }

    if let Err(e) = stop.await {
        eprintln!("sso-mock: cannot wait for signals: {e}");
        mock.stop().await;
        return ExitCode::from(1);
    }
    log::info!("shutting down");
    mock.stop().await;
    ExitCode::SUCCESS
}

/// Installs the SIGINT (Ctrl-C) and SIGTERM (e.g. `docker stop`) handlers now; the
/// future resolves on either.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = std::io::Result<()>> {
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
fn shutdown_signal() -> impl std::future::Future<Output = std::io::Result<()>> {
    tokio::signal::ctrl_c()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::try_parse_from(std::iter::once("sso-mock").chain(args.iter().copied()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_declaration_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.port, 8081);
        assert_eq!(args.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        let config = args.config();
        assert_eq!(config.client_id, "s3proxy-local");
        assert_eq!(config.client_secret, "s3proxy-local-secret");
        assert_eq!(config.user_email, "test.user@example.com");
        assert!(config.login_page);
        assert!(config.tokens.is_empty());
        assert_eq!(config.code.len(), 32);
        assert_eq!(config.oidc, None);
    }

    #[test]
    fn openid_mode() {
        let config = parse(&["--oidc"]).unwrap().config();
        assert_eq!(config.oidc, Some(OidcMock::default()));
        let config = parse(&["--oidc", "--issuer", "http://localhost:8081/"])
            .unwrap()
            .config();
        assert_eq!(
            config.oidc.and_then(|o| o.issuer).as_deref(),
            Some("http://localhost:8081")
        );
        // An issuer only means something to an OpenID Provider.
        assert!(parse(&["--issuer", "http://localhost:8081"]).is_err());
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
        .unwrap();
        assert_eq!(args.port, 9000);
        assert_eq!(args.bind, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let config = args.config();
        assert_eq!(config.client_id, "id");
        assert_eq!(config.client_secret, "s");
        assert_eq!(config.code, "c");
        assert_eq!(config.user_email, "me@example.com");
        assert!(!config.login_page);
        assert_eq!(
            parse(&["--bind", "localhost"]).unwrap().bind,
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
    }

    #[test]
    fn help_and_errors() {
        let help = Args::try_parse_from(["sso-mock", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(parse(&["--port"]).unwrap_err().contains("--port"));
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--port", "70000"]).is_err());
        assert!(parse(&["--bind", "nowhere"])
            .unwrap_err()
            .contains("not an IP address"));
        assert!(parse(&["--frobnicate"]).is_err());
        assert!(parse(&["--auto-approve=yes"]).is_err());
    }
}
