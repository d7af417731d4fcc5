//! The command line of `cargo xtask`.

use crate::bench::BenchOptions;
use crate::checks::STEP_NAMES;
use crate::up::UpOptions;

pub const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  build [--release] [--image]   build s3proxy, sso-mock and dev-s3; --image also builds the
                                container images (needs a working docker or podman engine)
  up [--detach] [--docker] [--no-env-file]
                                run the whole stack locally, without containers: redis-server
                                (or memory://), dev-s3 on :9000, sso-mock on :8081, s3proxy on
                                :8000, configured from .env when present. Ctrl-C stops it all.
                                --detach: run in the background (logs in .dev/logs/, stop with
                                `cargo xtask down`); --no-env-file: ignore .env;
                                --docker: `docker compose up --build` instead
  down                          stop what `up --detach` started
  compose [--] <args>...        docker compose -f compose/compose.yaml <args>
  test [--only <step>]...       the project's checks, in order: fmt, clippy, doc, test, e2e
                                (browser journeys), fuzz, smoke, bench (quick), compose
                                (--only runs the steps named, e.g. --only smoke)
  smoke                         start the local stack, sign in through the SSO mock, fetch
                                objects, stop the stack
  bench [--quick] [--rust-log <filter>]
                                the release proxy against nginx serving the same objects:
                                throughput, latency, CPU and memory, direct vs proxied
                                (needs nginx, wrk and redis-server; results in target/bench/).
                                --quick: ~1 s per measurement, smaller objects (CI);
                                --rust-log: the proxy's log filter (default warn)
  help                          this text";

/// One task, with its options.
#[derive(Debug, PartialEq)]
pub enum Task {
    Help,
    Build { release: bool, image: bool },
    Up(UpOptions),
    Down,
    Compose(Vec<String>),
    Test { only: Vec<String> },
    Smoke,
    Bench(BenchOptions),
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Task, String> {
    let mut args = args.into_iter();
    let Some(task) = args.next() else {
        return Ok(Task::Help);
    };
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "help" | "-h" | "--help" => Ok(Task::Help),
        "build" => {
            let mut release = false;
            let mut image = false;
            for arg in &rest {
                match arg.as_str() {
                    "--release" => release = true,
                    "--image" => image = true,
                    other => return Err(unknown(other, "build")),
                }
            }
            Ok(Task::Build { release, image })
        }
        "up" => {
            let mut options = UpOptions::default();
            for arg in &rest {
                match arg.as_str() {
                    "--detach" | "-d" => options.detach = true,
                    "--docker" => options.docker = true,
                    "--no-env-file" => options.use_env_file = false,
                    other => return Err(unknown(other, "up")),
                }
            }
            Ok(Task::Up(options))
        }
        "down" => no_options(rest, "down", Task::Down),
        "smoke" => no_options(rest, "smoke", Task::Smoke),
        "bench" => {
            let mut options = BenchOptions::default();
            let mut rest = rest.into_iter();
            while let Some(arg) = rest.next() {
                match arg.split_once('=') {
                    _ if arg == "--quick" => options.quick = true,
                    Some(("--rust-log", value)) => options.rust_log = value.to_owned(),
                    _ if arg == "--rust-log" => {
                        options.rust_log = rest
                            .next()
                            .ok_or("--rust-log needs a filter, e.g. --rust-log info")?;
                    }
                    _ => return Err(unknown(&arg, "bench")),
                }
            }
            Ok(Task::Bench(options))
        }
        "compose" => {
            // `--` is optional; everything after it goes to compose untouched.
            let rest = match rest.first().map(String::as_str) {
                Some("--") => rest[1..].to_vec(),
                _ => rest,
            };
            Ok(Task::Compose(rest))
        }
        "test" => {
            let mut only = Vec::new();
            let mut rest = rest.into_iter();
            while let Some(arg) = rest.next() {
                let value = match arg.split_once('=') {
                    Some(("--only", value)) => value.to_owned(),
                    _ if arg == "--only" => rest
                        .next()
                        .ok_or("--only needs a step name, e.g. --only smoke")?,
                    _ => return Err(unknown(&arg, "test")),
                };
                for step in value.split(',').filter(|s| !s.is_empty()) {
                    if !STEP_NAMES.contains(&step) {
                        return Err(format!(
                            "--only: no step named {step:?}; the steps are {}",
                            STEP_NAMES.join(", ")
                        ));
                    }
                    only.push(step.to_owned());
                }
            }
            Ok(Task::Test { only })
        }
        other => Err(format!("unknown task {other:?}")),
    }
}

fn no_options(rest: Vec<String>, task: &str, parsed: Task) -> Result<Task, String> {
    match rest.first() {
        Some(arg) => Err(unknown(arg, task)),
        None => Ok(parsed),
    }
}

fn unknown(arg: &str, task: &str) -> String {
    format!("unknown option {arg:?} for `{task}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Task, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn tasks_and_flags() {
        assert_eq!(parse_str(&[]), Ok(Task::Help));
        assert_eq!(
            parse_str(&["build", "--release", "--image"]),
            Ok(Task::Build {
                release: true,
                image: true
            })
        );
        assert_eq!(
            parse_str(&["up", "-d", "--no-env-file"]),
            Ok(Task::Up(UpOptions {
                detach: true,
                docker: false,
                use_env_file: false
            }))
        );
        assert_eq!(parse_str(&["down"]), Ok(Task::Down));
        assert_eq!(
            parse_str(&["bench", "--quick", "--rust-log=info"]),
            Ok(Task::Bench(BenchOptions {
                quick: true,
                rust_log: "info".into()
            }))
        );
        assert_eq!(
            parse_str(&["compose", "--", "config", "-q"]),
            Ok(Task::Compose(vec!["config".into(), "-q".into()]))
        );
        assert_eq!(
            parse_str(&["test", "--only", "fmt,smoke", "--only=doc"]),
            Ok(Task::Test {
                only: vec!["fmt".into(), "smoke".into(), "doc".into()]
            })
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(parse_str(&["up", "--detatch"])
            .unwrap_err()
            .contains("--detatch"));
        assert!(parse_str(&["test", "--only", "lint"])
            .unwrap_err()
            .contains("\"lint\""));
        assert!(parse_str(&["test", "--only"]).is_err());
        assert!(parse_str(&["down", "now"]).is_err());
        assert!(parse_str(&["bench", "--fast"])
            .unwrap_err()
            .contains("--fast"));
        assert!(parse_str(&["deploy"]).unwrap_err().contains("deploy"));
    }
}
