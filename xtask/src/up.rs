//! `cargo xtask up`: the whole stack on this machine, without containers.

use std::process::Command;

use crate::devenv::{DevEnv, PROXY_VARIABLES};
use crate::stack::{Ready, Stack};
use crate::workspace::{binary, dev_dir, on_path, relative, root};
use crate::{build, engine, pidfile, ports, procs, seed, signals, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpOptions {
    /// Start in the background and return once the proxy answers.
    pub detach: bool,
    /// `docker compose up --build` instead.
    pub docker: bool,
    /// Read `.env` over the local defaults.
    pub use_env_file: bool,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            detach: false,
            docker: false,
            use_env_file: true,
        }
    }
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
        ports::ensure_free(self.proxy_port, "s3proxy (PORT)")?;
        if let Some(port) = self.s3_port {
            ports::ensure_free(port, "dev-s3, the local S3 (S3_ENDPOINT_URL)")?;
        }
        if let Some(port) = self.sso_port {
            ports::ensure_free(port, "sso-mock, the local SSO (SSO_URL)")?;
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
    let mut env = DevEnv::load(options.use_env_file.then_some(env_file.as_path()))?;
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
    let mut stack = Stack::new(options.detach);
    let health = match start_all(&mut stack, &plan, &mut env) {
        Ok(health) => health,
        Err(e) => {
            eprintln!("xtask: could not start the local stack; stopping what was started");
            stack.stop();
            return Err(e);
        }
    };
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

/// A second stack would fight the first for its ports; say so plainly.
fn refuse_if_running() -> Result<()> {
    let Some(entries) = pidfile::read()? else {
        return Ok(());
    };
    let running: Vec<String> = entries
        .iter()
        .filter(|e| procs::is_alive(e.pid) && procs::runs(e.pid, &e.name))
        .map(|e| format!("{} (pid {})", e.name, e.pid))
        .collect();
    if running.is_empty() {
        // Left by a stack that died on its own.
        return pidfile::remove();
    }
    Err(format!(
        "a local stack started with --detach is still running: {}. \
         Stop it first with `cargo xtask down`",
        running.join(", ")
    ))
}

/// Starts the parts in dependency order; returns the status of the proxy's healthcheck.
fn start_all(stack: &mut Stack, plan: &Plan, env: &mut DevEnv) -> Result<u16> {
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
            let port = ports::free_port()?;
            println!("starting redis-server on 127.0.0.1:{port}, waiting for it to answer PING...");
            let mut redis = Command::new("redis-server");
            redis
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                // Sessions are throw-away here: nothing is written to disk.
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dev_dir().join("redis"));
            stack.start("redis-server", port, redis, Ready::Pong)?;
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
        let mut s3 = Command::new(binary("dev-s3", false));
        s3.arg("--root")
            .arg(dev_dir().join("s3"))
            .args(["--port", &port.to_string(), "--bucket", &bucket])
            .args(["--access-key", env.get_or_default("AWS_ACCESS_KEY_ID")])
            .args(["--secret-key", env.get_or_default("AWS_SECRET_ACCESS_KEY")]);
        stack.start("dev-s3", port, s3, Ready::Accepts)?;
    }

    if let Some(port) = plan.sso_port {
        println!("starting sso-mock on 127.0.0.1:{port}, waiting for it to accept connections...");
        let mut sso = Command::new(binary("sso-mock", false));
        sso.args(["--port", &port.to_string()])
            .args(["--client-id", env.get_or_default("SSO_CLIENT_ID")])
            .args(["--client-secret", env.get_or_default("SSO_CLIENT_SECRET")]);
        stack.start("sso-mock", port, sso, Ready::Accepts)?;
    }

    let port = plan.proxy_port;
    let health_url = format!(
        "http://127.0.0.1:{port}/{}",
        env.get_or_default("AWS_S3_HEALTHCHECK_KEY")
    );
    println!("starting s3proxy on port {port}, waiting for it to answer {health_url}...");
    let mut proxy = Command::new(binary("s3proxy", false));
    // Only the stack's settings: none of the shell's values of the proxy's variables.
    for name in PROXY_VARIABLES {
        proxy.env_remove(name);
    }
    proxy.envs(env.vars());
    let status = stack.start("s3proxy", port, proxy, Ready::Answers(health_url))?;
    Ok(status.unwrap_or(0))
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
