//! Container engines (docker, podman) and compose: which are here, and whether they work.

use std::process::Command;
use std::time::Duration;

use devstack::workspace::{self, on_path, root};
use devstack::Result;

/// The compose file, relative to the root.
pub const COMPOSE_FILE: &str = "compose/compose.yaml";

/// `docker info` answers at once without an engine; the bound only guards a
/// `DOCKER_HOST` that never answers.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// The first of docker and podman whose engine answers `info`, or why there is none.
pub fn working_engine() -> Result<&'static str> {
    let mut problems = Vec::new();
    for client in ["docker", "podman"] {
        if !on_path(client) {
            continue;
        }
        match launcher::probe(Command::new(client).arg("info"), PROBE_TIMEOUT) {
            Ok(_) => return Ok(client),
            Err(why) => problems.push(format!(
                "`{client} info` failed ({})",
                why.trim_end_matches('.')
            )),
        }
    }
    if problems.is_empty() {
        Err(
            "no container client: neither `docker` nor `podman` is on PATH. \
             Install Docker Engine or Podman to build images, or run the stack \
             without containers: `cargo xtask up`"
                .into(),
        )
    } else {
        Err(format!(
            "no working container engine: the client is installed but no engine (daemon) \
             answers: {}. Start one (e.g. `systemctl start docker`) or point DOCKER_HOST \
             at one; `cargo xtask up` runs the stack without containers",
            problems.join("; ")
        ))
    }
}

/// A compose implementation: the `docker compose` plugin, else the standalone
/// `docker-compose`, else `podman compose`. `Err` says what was looked for.
pub fn compose_command() -> Result<Command> {
    let candidates: [(&str, &[&str]); 3] = [
        ("docker", &["compose"]),
        ("docker-compose", &[]),
        ("podman", &["compose"]),
    ];
    for (program, prefix) in candidates {
        if !on_path(program) {
            continue;
        }
        // `version` needs no engine: it only tells whether compose itself is installed.
        let mut version = Command::new(program);
        version.args(prefix).arg("version");
        if launcher::probe(&mut version, PROBE_TIMEOUT).is_ok() {
            let mut command = Command::new(program);
            command
                .current_dir(root())
                .args(prefix)
                .args(["-f", COMPOSE_FILE]);
            return Ok(command);
        }
    }
    let client = if on_path("docker") {
        "the `docker` client is here but its compose plugin is not (`docker compose` is \
         an unknown command)"
    } else {
        "there is no `docker` client"
    };
    Err(format!(
        "no docker compose: {client}, and neither `docker-compose` nor `podman compose` \
         works. Install the compose plugin (package docker-compose-plugin from Docker's \
         repository) or `apt-get install docker-compose`"
    ))
}

/// `cargo xtask compose -- <args>`.
pub fn compose_passthrough(args: &[String]) -> Result<()> {
    if args.is_empty() {
        return Err(
            "compose needs arguments for docker compose, e.g. `cargo xtask compose -- config`"
                .into(),
        );
    }
    let mut command = compose_command()?;
    command.args(args);
    workspace::run(&mut command)
}

/// `cargo xtask up --docker`: the stack in containers.
pub fn compose_up(detach: bool) -> Result<()> {
    // Checked first so that the failure names the missing engine, not a socket error.
    working_engine()?;
    let mut command = compose_command()?;
    command.args(["up", "--build"]);
    if detach {
        command.arg("--detach");
    }
    workspace::run(&mut command)
}
