//! The command line of `cargo xtask`, declared with clap.

use bench::BenchOptions;
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand};

use crate::checks::STEP_NAMES;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "The project's tasks: build, the local stack, tests, containers, benchmark"
)]
pub struct Cli {
    /// Without one, this help.
    #[command(subcommand)]
    pub task: Option<Task>,
}

/// One task, with its options.
#[derive(Debug, PartialEq, Subcommand)]
pub enum Task {
    /// Build s3proxy, sso-mock and dev-s3
    Build {
        #[arg(long)]
        release: bool,
        /// Also build the container images, localhost/s3proxy:latest and
        /// localhost/sso-mock:latest (with docker where its engine runs, else podman)
        #[arg(long)]
        image: bool,
        /// Pull nothing: the images' binaries built here (release) and their runtime base
        /// made of this machine's Debian 12 files
        #[arg(long, requires = "image")]
        offline: bool,
    },
    /// Run the whole stack locally, without containers: redis-server (or memory://),
    /// dev-s3 on :9000, sso-mock on :8081, s3proxy on :8000, configured from .env when
    /// present. Ctrl-C stops it all
    Up(UpOptions),
    /// Stop what `up --detach` started
    Down,
    /// Run `docker compose -f compose/compose.yaml` with the given arguments
    Compose {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The project's checks, in order: fmt, clippy, deps (unused dependencies), doc, test,
    /// e2e (browser journeys), fuzz, smoke, bench (quick), image (built offline, run in
    /// podman), compose
    Test {
        /// Run only these steps (repeat it, or separate them with commas)
        #[arg(
            long,
            value_name = "STEP",
            value_delimiter = ',',
            value_parser = PossibleValuesParser::new(STEP_NAMES)
        )]
        only: Vec<String>,
    },
    /// Start the local stack, sign in through the SSO mock, fetch objects, stop the stack
    Smoke,
    /// The release proxy against nginx serving the same objects: throughput, latency, CPU
    /// and memory, direct, through nginx as a reverse proxy and through s3proxy (needs
    /// nginx, wrk, redis-server and openssl; results in target/bench/)
    Bench(BenchOptions),
}

#[derive(Debug, Clone, Copy, PartialEq, Args)]
pub struct UpOptions {
    /// Run in the background (logs in .dev/logs/, stop with `cargo xtask down`)
    #[arg(short, long)]
    pub detach: bool,
    /// `docker compose up --build` instead
    #[arg(long)]
    pub docker: bool,
    /// Ignore .env
    #[arg(long)]
    pub no_env_file: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Option<Task>, String> {
        Cli::try_parse_from(std::iter::once("xtask").chain(args.iter().copied()))
            .map(|cli| cli.task)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn tasks_and_flags() {
        assert_eq!(parse(&[]), Ok(None));
        assert_eq!(
            parse(&["build", "--release", "--image"]),
            Ok(Some(Task::Build {
                release: true,
                image: true,
                offline: false
            }))
        );
        assert_eq!(
            parse(&["build", "--image", "--offline"]),
            Ok(Some(Task::Build {
                release: false,
                image: true,
                offline: true
            }))
        );
        assert_eq!(
            parse(&["up", "-d", "--no-env-file"]),
            Ok(Some(Task::Up(UpOptions {
                detach: true,
                docker: false,
                no_env_file: true
            })))
        );
        assert_eq!(parse(&["down"]), Ok(Some(Task::Down)));
        assert_eq!(
            parse(&[
                "bench",
                "--quick",
                "--rust-log=info",
                "--proxy-bin",
                "/tmp/s3proxy"
            ]),
            Ok(Some(Task::Bench(BenchOptions {
                quick: true,
                rust_log: "info".into(),
                proxy_bin: Some("/tmp/s3proxy".into()),
            })))
        );
        assert_eq!(
            parse(&["bench"]),
            Ok(Some(Task::Bench(BenchOptions {
                quick: false,
                rust_log: "warn".into(),
                proxy_bin: None,
            })))
        );
        for args in [
            &["compose", "--", "config", "-q"][..],
            &["compose", "config", "-q"],
        ] {
            assert_eq!(
                parse(args),
                Ok(Some(Task::Compose {
                    args: vec!["config".into(), "-q".into()]
                }))
            );
        }
        assert_eq!(
            parse(&["test", "--only", "fmt,smoke", "--only=deps"]),
            Ok(Some(Task::Test {
                only: vec!["fmt".into(), "smoke".into(), "deps".into()]
            }))
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(parse(&["up", "--detatch"])
            .unwrap_err()
            .contains("--detatch"));
        let err = parse(&["test", "--only", "lint"]).unwrap_err();
        assert!(err.contains("'lint'") && err.contains("smoke"), "{err}");
        assert!(parse(&["test", "--only"]).is_err());
        assert!(parse(&["down", "now"]).is_err());
        assert!(parse(&["bench", "--fast"]).unwrap_err().contains("--fast"));
        assert!(parse(&["compose"]).is_err());
        assert!(parse(&["build", "--offline"])
            .unwrap_err()
            .contains("--image"));
        assert!(parse(&["deploy"]).unwrap_err().contains("deploy"));
    }
}
