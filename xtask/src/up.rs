//! `cargo xtask up`: the whole stack on this machine, without containers, started by the
//! launcher: in the foreground (output prefixed here, Ctrl-C stops it all) or detached
//! (logs in `.dev/logs/`, pids in `.dev/pids` for `down`).

use std::time::Duration;

use devstack::devenv::{DevEnv, PROXY_VARIABLES};
use devstack::workspace::{binary, dev_dir, on_path, relative, root};
use devstack::{http, signals, Result, STOP_GRACE};
use launcher::{Group, Lifetime, Output, Pidfile, Process, Spec, SsoMockArgs};

use crate::args::UpOptions;
use crate::{build, engine, seed};

/// How long a part may take to become ready once its binary is built.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// `.dev/pids`: what `up --detach` started, for `down`.
pub fn pidfile() -> Pidfile {
    Pidfile::new(dev_dir().join("pids"))
}

/// Where the proxy's sessions live.
#[derive(Debug, PartialEq)]
enum Sessions {
    /// `.env` names a Redis (or VCAP_SERVICES): nothing to start.
    EnvFile,
    /// A redis-server of our own.
    Local,
    /// No redis-server here: the proxy's in-memory store.
    Memory,
}

/// What to start, from the proxy's environment.
struct Plan {
    proxy_port: u16,
    sessions: Sessions,
    s3_port: Option<u16>,
    sso_port: Option<u16>,
}

impl Plan {
    fn new(env: &DevEnv) -> Result<Plan> {
        let sessions = if env.has_own_redis() {
            Sessions::EnvFile
        } else if on_path("redis-server") {
            Sessions::Local
        } else {
            Sessions::Memory
        };
        Ok(Plan {
            proxy_port: env.proxy_port()?,
            sessions,
            s3_port: env.local_s3_port(),
            sso_port: env.local_sso_port(),
        })
    }

    /// Every fixed port must be free before anything starts.
    fn check_ports(&self) -> Result<()> {
        launcher::ensure_free(self.proxy_port, "s3proxy (PORT)")?;
        if let Some(port) = self.s3_port {
            launcher::ensure_free(port, "dev-s3, the local S3 (S3_ENDPOINT_URL)")?;
        }
        if let Some(port) = self.sso_port {
            launcher::ensure_free(port, "sso-mock, the local SSO (SSO_URL)")?;
        }
        Ok(())
    }
}

pub fn run(options: &UpOptions) -> Result<()> {
    if options.docker {
        return engine::compose_up(options.detach);
    }
    signals::install()?;
    let env_file = root().join(".env");
    let mut env = DevEnv::load((!options.no_env_file).then_some(env_file.as_path()))?;
    if !env.set_by_env_file().is_empty() {
        let overrides = env.overrides();
        if overrides.is_empty() {
            println!("using .env: the same values as the local defaults");
        } else {
            println!("using .env: it changes {}", overrides.join(", "));
        }
    }
    refuse_if_running()?;
    let plan = Plan::new(&env)?;
    let (mut stack, health) = launch(&plan, &mut env, options.detach, true)?;
    let health = health.unwrap_or_default();
    print_urls(&plan, &env, health, options.detach);
    if options.detach {
        stack.leave_running();
        return Ok(());
    }
    let result = stack.watch();
    stack.stop();
    println!("the local stack is stopped");
    result
}

/// The local stack with the local defaults but no proxy, in the foreground: the parts
/// around a proxy run elsewhere (the image step's container, on the defaults' `PORT`).
/// Returns the stack, to stop, and the environment the proxy needs.
pub fn backends() -> Result<(Stack, DevEnv)> {
    let mut env = DevEnv::defaults();
    let plan = Plan::new(&env)?;
    let (stack, _) = launch(&plan, &mut env, false, false)?;
    Ok((stack, env))
}

/// Builds the binaries and starts the stack, the proxy only `with_proxy`; stops what it
/// started when a part fails. Returns the stack and the proxy's healthcheck status.
fn launch(
    plan: &Plan,
    env: &mut DevEnv,
    detached: bool,
    with_proxy: bool,
) -> Result<(Stack, Option<u16>)> {
    plan.check_ports()?;
    println!("building the binaries (debug)...");
    build::binaries(false)?;
    // Again: the build may have taken long enough for something else to start.
    plan.check_ports()?;

    for dir in ["logs", "s3", "redis"] {
        let dir = dev_dir().join(dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut stack = Stack::new(detached);
    match start_all(&mut stack, plan, env, with_proxy) {
        Ok(health) => Ok((stack, health)),
        Err(e) => {
            eprintln!("xtask: could not start the local stack; stopping what was started");
            stack.stop();
            Err(e)
        }
    }
}

/// What `up` started: a launcher group, and in detached mode its pid file.
pub struct Stack {
    detached: bool,
    group: Group,
}

impl Stack {
    fn new(detached: bool) -> Stack {
        Stack {
            detached,
            group: Group::new(),
        }
    }

    /// Starts `spec` and waits until it is ready. Detached: its own session, its output
    /// in `.dev/logs/<name>.log`, listed in `.dev/pids`; otherwise it dies with xtask and
    /// its output is shown here, each line prefixed with its name.
    fn start(&mut self, spec: Spec) -> Result<()> {
        let (output, lifetime) = if self.detached {
            let log = dev_dir().join("logs").join(format!("{}.log", spec.name()));
            (Output::File(log), Lifetime::Detached)
        } else {
            (Output::Prefixed, Lifetime::WithParent)
        };
        let process = Process::spawn(spec, output, lifetime)?;
        if self.detached {
            // At once, so that `down` finds it even if xtask is killed while waiting.
            let mut entries = self.group.entries();
            entries.push(process.entry());
            pidfile().write(&entries)?;
        }
        self.group
            .push(process)
            .wait_ready(
                READY_TIMEOUT,
                Duration::from_millis(100),
                signals::stop_requested,
            )
            .map(drop)
    }

    /// Foreground: returns `Ok` on Ctrl-C (or SIGTERM/SIGHUP), `Err` when a part exits
    /// by itself.
    fn watch(&mut self) -> Result<()> {
        loop {
            if signals::stop_requested() {
                println!("\nstopping the local stack...");
                return Ok(());
            }
            if let Some((name, status)) = self.group.exited() {
                // A terminal's Ctrl-C reaches the parts too, which may exit first.
                if signals::stop_requested() {
                    continue;
                }
                return Err(format!(
                    "{name} exited by itself ({status}); stopping the rest"
                ));
            }
            std::thread::sleep(launcher::POLL);
        }
    }

    /// Stops every part (SIGTERM, then SIGKILL after the grace period).
    pub fn stop(&mut self) {
        for name in self.group.stop(STOP_GRACE) {
            eprintln!("warning: {name} could not be stopped");
        }
        if self.detached {
            if let Err(e) = pidfile().remove() {
                eprintln!("warning: {e}");
            }
        }
    }

    /// Detached: leaves the parts running for `down`.
    fn leave_running(self) {
        self.group.release();
    }
}

/// A second stack would fight the first for its ports; say so plainly.
fn refuse_if_running() -> Result<()> {
    let Some(entries) = pidfile().read()? else {
        return Ok(());
    };
    let running: Vec<String> = entries
        .iter()
        .filter(|e| launcher::is_alive(e.pid) && launcher::runs(e.pid, &e.name))
        .map(|e| format!("{} (pid {})", e.name, e.pid))
        .collect();
    if running.is_empty() {
        // Left by a stack that died on its own.
        return pidfile().remove();
    }
    Err(format!(
        "a local stack started with --detach is still running: {}. \
         Stop it first with `cargo xtask down`",
        running.join(", ")
    ))
}

/// Starts the parts in dependency order, the proxy only `with_proxy`; returns the
/// status of the proxy's healthcheck.
fn start_all(
    stack: &mut Stack,
    plan: &Plan,
    env: &mut DevEnv,
    with_proxy: bool,
) -> Result<Option<u16>> {
    match plan.sessions {
        Sessions::EnvFile => println!("sessions: the Redis named in .env"),
        Sessions::Memory => {
            env.set("REDIS_ENDPOINT", "memory://");
            eprintln!(
                "warning: redis-server is not on PATH, so the proxy keeps sessions in its own \
                 memory (REDIS_ENDPOINT=memory://): fine for trying things, lost when it stops, \
                 and not what production does. Install Redis to run the real thing: \
                 `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)"
            );
        }
        Sessions::Local => {
            let port = launcher::free_port()?;
            println!("starting redis-server on 127.0.0.1:{port}, waiting for it to answer PING...");
            let dir = dev_dir().join("redis");
            stack.start(launcher::redis_server(port, &dir, &Default::default()))?;
            env.set("REDIS_ENDPOINT", format!("redis://127.0.0.1:{port}/0"));
        }
    }

    if let Some(port) = plan.s3_port {
        let (bucket, prefix) = env.bucket_and_prefix();
        let objects_dir = dev_dir().join("s3").join(&bucket).join(&prefix);
        let written = seed::seed(&objects_dir, env.get_or_default("AWS_S3_HEALTHCHECK_KEY"))?;
        if !written.is_empty() {
            println!(
                "seeded {} with {}",
                relative(&objects_dir),
                written.join(", ")
            );
        }
        println!("starting dev-s3 on 127.0.0.1:{port} (bucket {bucket}), waiting for it to accept connections...");
        stack.start(launcher::dev_s3(
            &binary("dev-s3", "dev"),
            port,
            &dev_dir().join("s3"),
            &bucket,
            env.get_or_default("AWS_ACCESS_KEY_ID"),
            env.get_or_default("AWS_SECRET_ACCESS_KEY"),
        ))?;
    }

    if let Some(port) = plan.sso_port {
        println!("starting sso-mock on 127.0.0.1:{port}, waiting for it to accept connections...");
        let args = SsoMockArgs {
            client_id: env.get_or_default("SSO_CLIENT_ID"),
            client_secret: env.get_or_default("SSO_CLIENT_SECRET"),
            // People sign in here: they see the page the real SSO would show.
            sign_in_page: true,
        };
        let mut mock = launcher::sso_mock(&binary("sso-mock", "dev"), port, &args);
        if oidc(env) {
            // The proxy's issuer is SSO_URL: the mock must name itself so.
            mock = mock
                .args(["--oidc", "--issuer"])
                .arg(env.get_or_default("SSO_URL"));
        }
        stack.start(mock)?;
    }

    if !with_proxy {
        return Ok(None);
    }
    let port = plan.proxy_port;
    println!("starting s3proxy on port {port}, waiting for it to accept connections...");
    // Only the stack's settings: none of the shell's values of the proxy's variables
    // (`PORT` is the launcher's).
    let shell_values = PROXY_VARIABLES.iter().filter(|name| **name != "PORT");
    let stack_values = env.vars().filter(|(name, _)| *name != "PORT");
    let proxy = launcher::s3proxy(&binary("s3proxy", "dev"), port)
        .env_remove(shell_values)
        .envs(stack_values);
    stack.start(proxy)?;
    let health_url = format!(
        "http://127.0.0.1:{port}/{}",
        env.get_or_default("AWS_S3_HEALTHCHECK_KEY")
    );
    let response = http::get(&http::client()?, &health_url, None)?;
    Ok(Some(response.status().as_u16()))
}

/// Whether the proxy speaks OpenID Connect (`SSO_PROVIDER=oidc` in `.env`, else in the
/// shell, which the proxy inherits): then the SSO mock is an OpenID Provider too.
fn oidc(env: &DevEnv) -> bool {
    let provider = match env.get("SSO_PROVIDER") {
        Some(value) => Some(value.to_owned()),
        None => std::env::var("SSO_PROVIDER").ok(),
    };
    provider.is_some_and(|p| p.trim().eq_ignore_ascii_case("oidc"))
}

fn print_urls(plan: &Plan, env: &DevEnv, health: u16, detached: bool) {
    let proxy = format!("http://localhost:{}", plan.proxy_port);
    let health_key = env.get_or_default("AWS_S3_HEALTHCHECK_KEY");
    let health_note = if health == 200 {
        ""
    } else {
        ", see .dev/logs or the output above"
    };
    let mut rows = vec![
        (
            format!("{proxy}/index.html"),
            "a page and an image, after signing in".to_owned(),
        ),
        (
            format!("{proxy}/{health_key}"),
            format!("the healthcheck, no sign-in (answered {health}{health_note})"),
        ),
    ];
    rows.push(match plan.sso_port {
        Some(port) => (
            format!("http://localhost:{port}/"),
            format!(
                "the SSO mock, where you sign in (client id {})",
                env.get_or_default("SSO_CLIENT_ID")
            ),
        ),
        None => (
            env.get_or_default("SSO_URL").to_owned(),
            "the SSO named in .env".to_owned(),
        ),
    });
    let (bucket, _) = env.bucket_and_prefix();
    rows.push(match plan.s3_port {
        Some(port) => (
            format!("http://127.0.0.1:{port}"),
            format!("dev-s3: bucket {bucket} is the folder .dev/s3/{bucket}/"),
        ),
        None => (
            format!("s3://{}", env.get_or_default("AWS_S3_BUCKET")),
            "the bucket named in .env".to_owned(),
        ),
    });
    match plan.sessions {
        Sessions::EnvFile => {}
        Sessions::Local | Sessions::Memory => rows.push((
            env.get("REDIS_ENDPOINT").unwrap_or_default().to_owned(),
            "sessions".to_owned(),
        )),
    }
    let width = rows.iter().map(|(url, _)| url.len()).max().unwrap_or(0);
    println!("\nThe local stack is up:");
    for (url, what) in rows {
        println!("  {url:width$}  {what}");
    }
    if detached {
        println!("Logs are in .dev/logs/, pids in .dev/pids. Stop it with `cargo xtask down`.");
    } else {
        println!("Press Ctrl-C to stop everything.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_is_an_openid_provider_when_the_proxy_speaks_oidc() {
        let mut env = DevEnv::defaults();
        for (value, expected) in [("oidc", true), (" OIDC ", true), ("staff-sso", false)] {
            env.set("SSO_PROVIDER", value);
            assert_eq!(oidc(&env), expected, "{value:?}");
        }
    }
}
