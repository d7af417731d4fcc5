//! Container images where no registry can be reached (`cargo xtask build --image
//! --offline`), and the `image` step of `cargo xtask test`, which builds the proxy's
//! image that way and runs the local-stack smoke against it in a container.
//!
//! Offline, the binaries are built on this machine (and lose their debug information, as
//! in the Dockerfile) and the runtime base is made of its own Debian 12 files — what
//! `distroless/cc-debian12:nonroot` holds and the binary needs: the libraries `ldd`
//! names, the CA bundle, the `nonroot` user, `/tmp`, nothing else (no shell). Both
//! become local images passed to the Dockerfile as `RUNTIME_IMAGE` and `BINARIES`, so
//! the runtime stage that ships is the one built and tested.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use devstack::devenv::DevEnv;
use devstack::workspace::{self, binary, on_path, root, target_dir};
use devstack::{signals, Result};

use crate::{smoke, up};

/// The offline build's two inputs, removed once it is done.
const RUNTIME_TAG: &str = "localhost/s3proxy-runtime:offline";
const BINARIES_TAG: &str = "localhost/s3proxy-binaries:offline";
/// The image step's own tag: a developer's `latest` is neither replaced nor removed.
const TEST_TAG: &str = "localhost/s3proxy:image-test";
const CONTAINER: &str = "s3proxy-image-test";
/// The README's promise (decimal megabytes, as podman and docker count).
const MAX_SIZE: u64 = 25_000_000;
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// The container's `SHUTDOWN_TIMEOUT`, the proxy's default.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// distroless's users and groups, less those nothing here uses.
const PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\n\
    nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n\
    nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n";

/// A container client: `docker` or `podman`.
pub struct Engine(pub &'static str);

impl Engine {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.0);
        command.current_dir(root()).args(args);
        command
    }

    /// Runs it, its output shown; a failure is an error.
    pub fn run(&self, args: &[&str]) -> Result<()> {
        workspace::run(&mut self.command(args))
    }

    /// Runs it quietly: its exit code, and its stdout and stderr together.
    fn output(&self, args: &[&str]) -> Result<(Option<i32>, String)> {
        let mut command = self.command(args);
        let output = command
            .output()
            .map_err(|e| launcher::spawn_error(self.0, &command, &e))?;
        let text =
            String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
        Ok((output.status.code(), text.trim().to_owned()))
    }

    /// Runs it quietly, expecting exit 0; returns its output.
    fn query(&self, args: &[&str]) -> Result<String> {
        match self.output(args)? {
            (Some(0), text) => Ok(text),
            (code, text) => Err(format!(
                "`{} {}` exited with {code:?}: {text}",
                self.0,
                args.join(" ")
            )),
        }
    }
}

/// `cargo build --profile <profile>` of the images' binaries, as the bench step builds
/// them (the same packages, so the same features: nothing to rebuild after it).
pub fn build_binaries(profile: &str) -> Result<()> {
    workspace::build(profile, &bench::BINARIES)
}

/// Builds the Dockerfile's `targets` (target, binary, tag) from the binaries of
/// `profile`, already built, on a runtime base of this machine's files.
pub fn build_offline(engine: &Engine, profile: &str, targets: &[(&str, &str, &str)]) -> Result<()> {
    let dir = target_dir().join("image");
    let (runtime, binaries) = (dir.join("runtime"), dir.join("binaries"));
    for folder in [&runtime, &binaries].into_iter().filter(|f| f.exists()) {
        std::fs::remove_dir_all(folder).map_err(|e| io_error(folder, e))?;
    }
    let mut files = vec![PathBuf::from(CA_BUNDLE)];
    for (_, name, _) in targets {
        let (built, packaged) = (binary(name, profile), binaries.join("out").join(name));
        copy(&built, &packaged)?;
        // As the Dockerfile's builder: no line tables, which would triple the image. The
        // release build keeps its symbol names (Sentry's backtraces); the image step's
        // bench-quick build (no LTO) has 5.7 MB more of them than the release build, so
        // it ships without: the step checks the image's code and behaviour, and its size
        // bound still holds for the release image, whose code is smaller.
        let what = if profile == "release" {
            "--strip-debug"
        } else {
            "--strip-all"
        };
        let mut strip = Command::new("strip");
        workspace::run(strip.arg(what).arg(&packaged))?;
        files.extend(needed_libraries(&built)?);
    }
    for file in &files {
        copy(file, &runtime.join(file.strip_prefix("/").unwrap_or(file)))?;
    }
    let tmp = runtime.join("tmp");
    std::fs::create_dir(&tmp).map_err(|e| io_error(&tmp, e))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777))
        .map_err(|e| io_error(&tmp, e))?;
    for (name, text) in [("etc/passwd", PASSWD), ("etc/group", GROUP)] {
        let path = runtime.join(name);
        std::fs::write(&path, text).map_err(|e| io_error(&path, e))?;
    }

    let built = import(engine, &runtime, RUNTIME_TAG)
        .and_then(|()| import(engine, &binaries, BINARIES_TAG))
        .and_then(|()| {
            targets.iter().try_for_each(|(target, _, tag)| {
                let args = format!(
                    "build --build-arg RUNTIME_IMAGE={RUNTIME_TAG} --build-arg \
                     BINARIES={BINARIES_TAG} --target {target} --tag {tag} ."
                );
                engine.run(&args.split(' ').collect::<Vec<_>>())
            })
        });
    // Only the inputs: the images built keep the layers they share with them.
    let _ = engine.output(&["rmi", RUNTIME_TAG, BINARIES_TAG]);
    built
}

/// The shared libraries `ldd` says `binary` loads, the dynamic loader included.
fn needed_libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| format!("cannot run ldd (package libc-bin): {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || text.contains("not found") {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("ldd {}: {text}{stderr}", binary.display()));
    }
    // `libc.so.6 => /lib/…/libc.so.6 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`; the
    // vDSO has no file.
    Ok(text
        .lines()
        .filter_map(|line| line.split(" (0x").next()?.rsplit("=> ").next())
        .map(str::trim)
        .filter(|path| path.starts_with('/'))
        .map(PathBuf::from)
        .collect())
}

/// `dir` as a tar archive, every file owned by root, imported as the image `tag`.
fn import(engine: &Engine, dir: &Path, tag: &str) -> Result<()> {
    let tarball = dir.with_extension("tar");
    let mut tar = Command::new("tar");
    tar.args([
        "--create",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "--file",
    ])
    .arg(&tarball)
    .arg("--directory")
    .arg(dir)
    .arg(".");
    workspace::run(&mut tar)?;
    engine.run(&["import", &tarball.to_string_lossy(), tag])
}

/// Copies the file's content (symbolic links followed), creating its folder.
fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    }
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

fn io_error(path: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", path.display())
}

/// The `image` step.
pub fn test() -> Result<()> {
    signals::install()?;
    let tools = ["podman", "runc", "tar", "ldd", "strip"];
    if let Some(tool) = tools.into_iter().find(|tool| !on_path(tool)) {
        return Err(format!(
            "the image step needs podman, runc, tar, ldd and strip, and {tool} is not on \
             PATH: `apt-get install podman runc binutils` (Debian/Ubuntu)"
        ));
    }
    let podman = podman()?;
    let started = Instant::now();
    // What the bench step built: no fat-LTO release build for CI to wait for.
    println!("image: packaging the bench-quick build of s3proxy");
    build_binaries("bench-quick")?;
    build_offline(&podman, "bench-quick", &[("proxy", "s3proxy", TEST_TAG)])?;
    let built = started.elapsed();
    let result = check_size(&podman).and_then(|size| {
        let (mut stack, env) = up::backends()?;
        let checks = run_container(&podman, &env);
        stack.stop();
        Ok((size, checks?))
    });
    let _ = podman.output(&["rmi", "--force", TEST_TAG]);
    let (size, checks) = result?;
    println!(
        "image: passed ({:.1} MB of at most 25, built in {:.0} s; {checks} checks in {:.0} s; \
         image removed)",
        size as f64 / 1e6,
        built.as_secs_f64(),
        (started.elapsed() - built).as_secs_f64()
    );
    Ok(())
}

/// podman, whose storage driver is said: overlay here as root. With no driver set in
/// `storage.conf` (Debian's default), a kernel without overlay gets vfs by itself.
fn podman() -> Result<Engine> {
    let podman = Engine("podman");
    let driver = podman.query(&["info", "--format", "{{.Store.GraphDriverName}}"])?;
    println!("image: podman storage: {driver}");
    Ok(podman)
}

fn check_size(podman: &Engine) -> Result<u64> {
    let size = podman.query(&["image", "inspect", "--format", "{{.Size}}", TEST_TAG])?;
    // Its binary, without LTO, is larger than the release one: a bound with room to spare.
    match size.parse() {
        Ok(bytes) if bytes <= MAX_SIZE => Ok(bytes),
        _ => Err(format!("the image is {size} bytes, over {MAX_SIZE}")),
    }
}

/// The container, removed when dropped, whatever happened.
struct Container<'a>(&'a Engine);

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self.0.output(&["rm", "--force", "--time", "0", CONTAINER]);
    }
}

/// The image in a container on the host's network and a read-only root, in front of
/// the stack's parts; returns how many checks passed.
fn run_container(podman: &Engine, env: &DevEnv) -> Result<usize> {
    // One left by an interrupted run goes first.
    drop(Container(podman));
    let container = Container(podman);
    // Nothing writable, /tmp included. crun refuses these machines' hybrid cgroups.
    let mut args: Vec<String> = "run --detach --network host --read-only \
        --read-only-tmpfs=false --runtime runc"
        .split(' ')
        .map(String::from)
        .chain([format!("--name={CONTAINER}")])
        .collect();
    // podman raises limits by default, which is refused here: the current ones, and
    // for processes (threads) a few thousand, below the pid_max podman's conmon gets.
    let limits = [
        ("nofile", "Max open files", u64::MAX),
        ("nproc", "Max processes", 4096),
    ];
    for (option, name, cap) in limits {
        args.push(format!("--ulimit={option}={}", current_limit(name, cap)?));
    }
    for (name, value) in env.vars() {
        args.push(format!("--env={name}={value}"));
    }
    args.push(format!(
        "--env=SHUTDOWN_TIMEOUT={}",
        SHUTDOWN_TIMEOUT.as_secs()
    ));
    args.push(TEST_TAG.into());
    podman.run(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    let port = env.proxy_port()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !launcher::accepts(port) {
        if Instant::now() > deadline || signals::stop_requested() {
            let log = logs(podman);
            return Err(format!("the container never accepted connections:\n{log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let checks = inside(podman).map_err(|e| format!("{e}\nthe container's log:\n{}", logs(podman)));
    drop(container);
    checks
}

/// The smoke's sign-in and downloads, then what only a container has.
fn inside(podman: &Engine) -> Result<usize> {
    let mut passed = smoke::login_flow()?;
    let mut ok = |what: &str| {
        passed += 1;
        println!("  ok  {what}");
    };
    let pid = podman.query(&["inspect", "--format", "{{.State.Pid}}", CONTAINER])?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let uids = status.lines().find(|line| line.starts_with("Uid:"));
    if uids != Some("Uid:\t65532\t65532\t65532\t65532") {
        return Err(format!(
            "the proxy does not run as nonroot (65532): {uids:?}"
        ));
    }
    ok("the proxy runs as nonroot (65532), on a read-only root");
    let healthcheck = |env: &[&str]| {
        let command = [CONTAINER, "/usr/local/bin/s3proxy", "healthcheck"];
        let args = [&["exec"], env, &command].concat();
        podman.output(&args).map(|(code, _)| code)
    };
    if healthcheck(&[])? != Some(0) {
        return Err("`s3proxy healthcheck` in the container failed".into());
    }
    ok("`s3proxy healthcheck` in the container: exit 0");
    if healthcheck(&["--env=AWS_S3_HEALTHCHECK_KEY=missing.txt"])? != Some(1) {
        return Err("`s3proxy healthcheck` of a missing object did not exit 1".into());
    }
    ok("`s3proxy healthcheck` of a missing object: exit 1");
    for shell in ["sh", "/bin/sh", "/bin/bash", "/bin/busybox"] {
        if let (Some(0), _) = podman.output(&["exec", CONTAINER, shell, "-c", "true"])? {
            return Err(format!("the image has a shell: {shell}"));
        }
    }
    ok("no shell in the image");
    let stopping = Instant::now();
    podman.query(&["stop", "--time", "60", CONTAINER])?;
    let took = stopping.elapsed();
    let code = podman.query(&["inspect", "--format", "{{.State.ExitCode}}", CONTAINER])?;
    if code != "0" || took > SHUTDOWN_TIMEOUT {
        return Err(format!(
            "on SIGTERM the proxy exited with {code} after {took:?}"
        ));
    }
    ok(&format!(
        "SIGTERM: exit 0 after {:.1} s",
        took.as_secs_f64()
    ));
    Ok(passed)
}

/// This process's limit `name` (as `/proc/self/limits` calls it), at most `cap`, as
/// `--ulimit` takes it: `soft:hard`.
fn current_limit(name: &str, cap: u64) -> Result<String> {
    let limits = std::fs::read_to_string("/proc/self/limits")
        .map_err(|e| format!("/proc/self/limits: {e}"))?;
    let line = limits.lines().find_map(|line| line.strip_prefix(name));
    let mut values = line.unwrap_or_default().split_whitespace().map(|value| {
        let limit = if value == "unlimited" {
            Ok(cap)
        } else {
            value.parse()
        };
        limit.map(|limit: u64| limit.min(cap))
    });
    match (values.next(), values.next()) {
        (Some(Ok(soft)), Some(Ok(hard))) => Ok(format!("{soft}:{hard}")),
        _ => Err(format!("no {name:?} in /proc/self/limits")),
    }
}

/// The end of the container's log, for failures.
fn logs(podman: &Engine) -> String {
    let log = podman.output(&["logs", "--tail", "40", CONTAINER]);
    log.map_or_else(|e| e, |(_, text)| text)
}
