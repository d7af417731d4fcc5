//! `cargo xtask bench`: the release proxy against the same load sent directly to a fast
//! backend, in the same run.
//!
//! nginx serves the bucket folder path-style (it ignores S3 signatures and query strings,
//! so it is never the bottleneck); Redis, the SSO mock and the proxy run as in `up`.
//! After one sign-in, each measurement is run directly against nginx and through the
//! proxy, repeated, and the medians are compared with the targets. Results go to stdout
//! (a table) and to `target/bench/` (JSON and Markdown). A missed target is reported,
//! not an error: the numbers depend on the machine.
//!
//! A crate of its own so that xtask keeps only command dispatch and the steps of
//! `cargo xtask test`: xtask parses [`BenchOptions`] and calls [`run`], for `cargo xtask
//! bench` and for the `bench` step (quick). Like xtask, it never links the server crates:
//! it builds and starts their binaries.

mod client;
mod nginx;
mod procfs;
mod redis_stats;
mod report;
mod setup;
mod tls;
mod wrk;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use client::Endpoint;
use report::{Column, Metric, Target};
use reqwest::header::{COOKIE, RANGE};
use setup::{Object, Proxy, Services, BUCKET};

use devstack::workspace::{self, relative};
use devstack::{http, signals, Result};

/// The binaries the benchmark runs, built with its profile (the image step packages the
/// same build).
pub const BINARIES: [&str; 2] = ["s3proxy", "sso-mock"];

const GIB: f64 = (1u64 << 30) as f64;
const MIB: f64 = (1u64 << 20) as f64;

/// Sizes, durations and counts of one run.
struct Plan {
    repetitions: usize,
    /// Measurements 1 and 4 (1 GiB).
    large: Object,
    /// Measurement 3 (64 MiB).
    medium: Object,
    /// Measurement 2 (1 KiB).
    small: Object,
    wrk_duration: Duration,
    wrk_warmup: Option<Duration>,
    parallel: usize,
    ranges: usize,
    range_size: u64,
    range_limit: Duration,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        Plan {
            repetitions: if quick { 1 } else { 3 },
            large: Object::new(if quick { 64 << 20 } else { 1 << 30 }),
            medium: Object::new(if quick { 8 << 20 } else { 64 << 20 }),
            small: Object::new(1024),
            wrk_duration: Duration::from_secs(if quick { 1 } else { 10 }),
            wrk_warmup: (!quick).then_some(Duration::from_secs(2)),
            parallel: 100,
            ranges: 1000,
            range_size: 64 * 1024,
            range_limit: Duration::from_secs(if quick { 1 } else { 60 }),
        }
    }
}

/// What the measurements share.
struct Bench<'a> {
    plan: &'a Plan,
    services: &'a Services,
    proxy_bin: PathBuf,
    proxy_env: Vec<(String, String)>,
    rust_log: String,
    proxy_log: PathBuf,
    direct: Endpoint,
    nginx_proxy: Endpoint,
    cookie: String,
}

/// One column's side of a measurement: where to send the load, and whose CPU it costs.
#[derive(Clone)]
struct Subject {
    column: Column,
    endpoint: Endpoint,
    pid: u32,
    /// nginx: the master and its workers; s3proxy: the one process.
    tree: bool,
}

impl Subject {
    fn cpu_time(&self) -> Duration {
        if self.tree {
            procfs::tree_cpu_time(self.pid)
        } else {
            procfs::cpu_time(self.pid)
        }
        .unwrap_or_default()
    }

    /// Prints one run's figures, saying whose CPU they count.
    fn say(&self, rep: usize, figures: &str) {
        let whose = match self.column {
            Column::Direct => "nginx",
            Column::NginxProxy => "nginx proxy",
            Column::Proxy => "s3proxy",
        };
        println!(
            "   run {}: {:11}: {figures} ({whose})",
            rep + 1,
            self.endpoint.name
        );
    }
}

impl Bench<'_> {
    fn proxy_endpoint(&self, proxy: &Proxy) -> Endpoint {
        Endpoint {
            name: "s3proxy",
            port: proxy.port,
            prefix: "/".into(),
            cookie: Some(self.cookie.clone()),
        }
    }

    fn start_proxy(&self) -> Result<Proxy> {
        Proxy::start(&self.proxy_bin, &self.proxy_env, &self.proxy_log)
    }

    fn direct(&self) -> Subject {
        Subject {
            column: Column::Direct,
            endpoint: self.direct.clone(),
            pid: self.services.nginx_pid,
            tree: true,
        }
    }

    fn nginx_proxy(&self) -> Subject {
        Subject {
            column: Column::NginxProxy,
            endpoint: self.nginx_proxy.clone(),
            pid: self.services.nginx_proxy_pid,
            tree: true,
        }
    }

    fn proxy(&self, proxy: &Proxy) -> Subject {
        Subject {
            column: Column::Proxy,
            endpoint: self.proxy_endpoint(proxy),
            pid: proxy.pid,
            tree: false,
        }
    }

    /// The three columns, in the order they are measured.
    fn subjects(&self, proxy: &Proxy) -> [Subject; 3] {
        [self.direct(), self.nginx_proxy(), self.proxy(proxy)]
    }
}

/// The options of `cargo xtask bench`, declared for xtask's command line.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct BenchOptions {
    /// About a second per measurement, one repetition, smaller objects, and the lighter
    /// `bench-quick` build profile: proves the benchmark works (CI), measures nothing
    /// worth comparing
    #[arg(long)]
    pub quick: bool,
    /// The proxy's log filter
    #[arg(long, value_name = "FILTER", default_value = "warn")]
    pub rust_log: String,
    /// Measure this s3proxy binary instead of the one built from the tree (the rest of
    /// the stack still is): two builds compared on the same machine, one run after the
    /// other, e.g. before and after a change
    #[arg(long, value_name = "PATH")]
    pub proxy_bin: Option<std::path::PathBuf>,
}

impl BenchOptions {
    /// `bench --quick`, as the test command runs it.
    pub fn quick() -> BenchOptions {
        BenchOptions {
            quick: true,
            rust_log: "warn".into(),
            proxy_bin: None,
        }
    }
}

/// Runs the benchmark: builds the proxy, starts the stack and nginx, measures, reports.
pub fn run(options: &BenchOptions) -> Result<()> {
    signals::install()?;
    let nginx = setup::check_tools()?;
    let plan = Plan::new(options.quick);
    // The full run measures what is deployed (fat LTO: the first build takes many
    // minutes); a quick run only proves the benchmark works, so it builds lighter.
    let profile = if options.quick {
        "bench-quick"
    } else {
        "release"
    };
    println!("bench: building the binaries with the {profile} profile...");
    workspace::build(profile, &BINARIES)?;

    let date = report::utc_now();
    let dir = setup::bench_dir();
    let mut notes = vec![format!(
        "{} CPU(s); backend nginx (sendfile, 2 workers) on loopback; nginx proxy: proxy_pass, \
         upstream keep-alive, proxy buffering on, 2 workers; s3proxy RUST_LOG={}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        options.rust_log
    )];
    notes.push(
        "CPU rows: each proxy's own CPU time (user + system, /proc/<pid>/stat; nginx's \
         master and workers); the direct column holds the backend's, for scale, not for a \
         ratio"
            .into(),
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        // Other work on the machine skews everything: say how busy it was.
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        notes.push(format!(
            "load average before the run: {} (1, 5, 15 min)",
            load.join(" ")
        ));
    }
    if options.quick {
        let note = format!(
            "--quick: 1 repetition, ~1 s per measurement, {} instead of 1 GiB and {} instead \
             of 64 MiB, the bench-quick build profile (no LTO): proves the benchmark works, \
             the figures mean little",
            plan.large.label(),
            plan.medium.label()
        );
        println!("bench: {note}");
        notes.push(note);
    }
    let data = dir.join("data");
    setup::ensure_objects(&data, &[&plan.large, &plan.medium, &plan.small])?;

    println!("bench: starting nginx, redis-server and sso-mock...");
    let services = Services::start(&nginx, &dir, profile)?;
    let proxy_log = dir.join("logs").join("s3proxy.log");
    std::fs::write(&proxy_log, "")
        .map_err(|e| format!("cannot write {}: {e}", proxy_log.display()))?;
    let proxy_env = services.proxy_env(&options.rust_log);
    let proxy_bin = match &options.proxy_bin {
        Some(path) => {
            notes.push(format!("s3proxy: {} (--proxy-bin)", path.display()));
            path.clone()
        }
        None => workspace::binary("s3proxy", profile),
    };
    let proxy = Proxy::start(&proxy_bin, &proxy_env, &proxy_log)?;
    let cookie = setup::login(proxy.port, &plan.small.key)?;
    println!(
        "bench: nginx on :{} (https :{}), nginx as a reverse proxy on :{} (to https :{}), \
         s3proxy on :{}, signed in through the SSO mock",
        services.backend.http,
        services.backend.https,
        services.nginx_proxy.to_http,
        services.nginx_proxy.to_https,
        proxy.port
    );
    let bench = Bench {
        plan: &plan,
        services: &services,
        proxy_bin,
        proxy_env,
        rust_log: options.rust_log.clone(),
        proxy_log,
        direct: Endpoint {
            name: "direct",
            port: services.backend.http,
            prefix: format!("/{BUCKET}/"),
            cookie: None,
        },
        nginx_proxy: Endpoint {
            name: "nginx proxy",
            port: services.nginx_proxy.to_http,
            prefix: format!("/{BUCKET}/"),
            cookie: None,
        },
        cookie,
    };
    check_same_bytes(&bench, &proxy, &data)?;

    let started = Instant::now();
    let steal_before = procfs::steal_time();
    let single = single_stream(&bench, &proxy)?;
    let https = single_stream_https(&bench)?;
    let small = small_objects(&bench, &proxy)?;
    let ranges = random_ranges(&bench, &proxy)?;
    drop(proxy);
    let parallel = parallel_downloads(&bench)?;
    let startup = startup(&bench)?;
    let measured = started.elapsed();
    println!(
        "bench: measured in {:.0} s; stopping the services",
        measured.as_secs_f64()
    );
    if let (Some(before), Some(after)) = (steal_before, procfs::steal_time()) {
        // A shared VM: CPU time the host gave to others while we measured.
        notes.push(format!(
            "hypervisor steal while measuring: {:.1} CPU-s in {:.0} s",
            (after.saturating_sub(before)).as_secs_f64(),
            measured.as_secs_f64()
        ));
    }
    drop(services);

    let metrics: Vec<Metric> = [single, https, small, parallel, ranges, startup]
        .into_iter()
        .flatten()
        .collect();
    let table = report::table(&metrics);
    println!("\n{table}");
    for note in &notes {
        println!("- {note}");
    }
    let run = report::Run {
        date: &date,
        quick: options.quick,
        repetitions: plan.repetitions,
        rust_log: &options.rust_log,
        backend: "nginx",
        notes: &notes,
        metrics: &metrics,
    };
    write_results(&dir, &run, &table)?;
    let missed: Vec<String> = metrics
        .iter()
        .filter(|m| m.met() == Some(false))
        .map(|m| format!("{} ({})", m.measurement, m.name))
        .collect();
    if missed.is_empty() {
        println!("bench: every target met");
    } else {
        println!("bench: targets missed: {}", missed.join("; "));
    }
    if options.quick {
        println!("bench: --quick figures prove the benchmark runs; they are not measurements");
    }
    Ok(())
}

fn check_stop() -> Result<()> {
    if signals::stop_requested() {
        Err("interrupted".into())
    } else {
        Ok(())
    }
}

/// Before measuring anything: the proxy and nginx give the file's bytes, whole and in part.
fn check_same_bytes(bench: &Bench, proxy: &Proxy, data: &Path) -> Result<()> {
    let small = &bench.plan.small;
    let file = std::fs::read(data.join(BUCKET).join(&small.key)).map_err(|e| e.to_string())?;
    let client = http::client()?;
    for subject in bench.subjects(proxy) {
        let endpoint = &subject.endpoint;
        for (range, status, bytes) in [
            (None, 200, &file[..]),
            (Some("bytes=100-299"), 206, &file[100..300]),
        ] {
            let url = endpoint.url(&small.key);
            let mut request = client.get(&url);
            if let Some(cookie) = &endpoint.cookie {
                request = request.header(COOKIE, cookie);
            }
            if let Some(range) = range {
                request = request.header(RANGE, range);
            }
            let response = request.send().map_err(|e| format!("GET {url}: {e}"))?;
            let answered = response.status().as_u16();
            let body = http::bytes(response)?;
            if answered != status || body != bytes {
                return Err(format!(
                    "{}: GET {} (Range: {}) answered {answered} with {} bytes, not {status} \
                     with the file's {} bytes",
                    endpoint.name,
                    small.key,
                    range.unwrap_or("none"),
                    body.len(),
                    bytes.len()
                ));
            }
        }
    }
    Ok(())
}

/// 1. One big object, one stream: throughput, and CPU time per GiB (nginx's in the direct
///    column, for scale).
fn single_stream(bench: &Bench, proxy: &Proxy) -> Result<Vec<Metric>> {
    let object = &bench.plan.large;
    let title = format!("{}, 1 stream", object.label());
    println!("\n1. {title}");
    let mut speed = Metric::new(&title, "single_stream.mb_per_s", "MB/s")
        .target(Target::MinRatio(0.70))
        .python("0.29× direct");
    let mut cpu = Metric::new(&title, "single_stream.cpu_s_per_gib", "CPU s/GiB")
        .target(Target::Max(1.0))
        .python("1.38")
        .not_comparable();
    for rep in 0..bench.plan.repetitions {
        for subject in bench.subjects(proxy) {
            let (mb_per_s, cpu_s_per_gib) = stream_once(&subject, &object.key, rep)?;
            speed.push(subject.column, mb_per_s);
            cpu.push(subject.column, cpu_s_per_gib);
        }
    }
    Ok(vec![speed, cpu])
}

/// 1b. The same stream from the backend over https, its certificate from a test CA the
///     proxies trust (`SSL_CERT_FILE` for s3proxy): real S3 is https. The direct column
///     is the plain http download, for the ratio.
fn single_stream_https(bench: &Bench) -> Result<Vec<Metric>> {
    let object = &bench.plan.large;
    let title = format!("{}, 1 stream, https backend", object.label());
    println!("\n1b. {title}");
    let mut speed = Metric::new(&title, "single_stream_https.mb_per_s", "MB/s");
    let mut cpu =
        Metric::new(&title, "single_stream_https.cpu_s_per_gib", "CPU s/GiB").not_comparable();
    let env = bench.services.proxy_env_https(&bench.rust_log);
    let proxy = Proxy::start(&bench.proxy_bin, &env, &bench.proxy_log)?;
    let nginx_proxy = Subject {
        endpoint: Endpoint {
            name: "nginx proxy",
            port: bench.services.nginx_proxy.to_https,
            ..bench.nginx_proxy.clone()
        },
        ..bench.nginx_proxy()
    };
    for rep in 0..bench.plan.repetitions {
        for subject in [bench.direct(), nginx_proxy.clone(), bench.proxy(&proxy)] {
            let (mb_per_s, cpu_s_per_gib) = stream_once(&subject, &object.key, rep)?;
            speed.push(subject.column, mb_per_s);
            // The backend's CPU for a plain download says nothing about https.
            if subject.column != Column::Direct {
                cpu.push(subject.column, cpu_s_per_gib);
            }
        }
    }
    Ok(vec![speed, cpu])
}

/// Downloads `key` once from `subject`: MB/s and the subject's CPU seconds per GiB.
fn stream_once(subject: &Subject, key: &str, rep: usize) -> Result<(f64, f64)> {
    check_stop()?;
    let cpu_before = subject.cpu_time();
    let started = Instant::now();
    let bytes = client::download(&subject.endpoint, key)?;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_used = (subject.cpu_time() - cpu_before).as_secs_f64() / (bytes as f64 / GIB);
    let mb_per_s = bytes as f64 / elapsed / 1e6;
    subject.say(
        rep,
        &format!("{mb_per_s:7.0} MB/s, {cpu_used:.2} CPU s/GiB"),
    );
    Ok((mb_per_s, cpu_used))
}

/// 2. Small objects, 64 connections: requests per second and latency, with wrk.
fn small_objects(bench: &Bench, proxy: &Proxy) -> Result<Vec<Metric>> {
    let plan = bench.plan;
    let title = format!(
        "{}, 64 conn, {} s",
        plan.small.label(),
        plan.wrk_duration.as_secs()
    );
    println!("\n2. {title} (wrk -t2 -c64)");
    let mut rps = Metric::new(&title, "small_objects.requests_per_s", "req/s")
        .target(Target::MinRatio(0.25))
        .python("818 (0.009× direct)");
    let mut p50 = Metric::new(&title, "small_objects.p50_ms", "p50 ms");
    let mut p99 = Metric::new(&title, "small_objects.p99_ms", "p99 ms")
        .target(Target::MaxRatio(2.0))
        .python("140");
    // Less noisy than req/s on a shared machine: what each request costs the proxy.
    let mut cpu = Metric::new(&title, "small_objects.cpu_us_per_request", "CPU µs/req")
        .target(Target::MaxVsNginxProxy(2.0))
        .not_comparable();
    // From Redis's own counts: with the session cache, a signed-in request costs none.
    let mut redis = Metric::new(
        &title,
        "small_objects.redis_commands_per_request",
        "Redis cmds/req",
    )
    .target(Target::Max(0.01))
    .python("1")
    .not_comparable();
    let cookie = format!("Cookie: {}", bench.cookie);
    let subjects = bench.subjects(proxy);
    let headers = |subject: &Subject| match subject.column {
        Column::Proxy => vec![cookie.clone()],
        _ => Vec::new(),
    };
    if let Some(warmup) = plan.wrk_warmup {
        for subject in &subjects {
            check_stop()?;
            let url = subject.endpoint.url(&plan.small.key);
            wrk::run(&url, 2, 64, warmup, &headers(subject))?;
        }
    }
    for rep in 0..plan.repetitions {
        for subject in &subjects {
            check_stop()?;
            let redis_before = match subject.column {
                Column::Proxy => Some(redis_stats::commands(bench.services.redis_port)?),
                _ => None,
            };
            let before = subject.cpu_time();
            let result = wrk::run(
                &subject.endpoint.url(&plan.small.key),
                2,
                64,
                plan.wrk_duration,
                &headers(subject),
            )?;
            let per_request =
                (subject.cpu_time() - before).as_secs_f64() * 1e6 / result.requests as f64;
            let redis_per_request = match redis_before {
                Some(before) => {
                    let ran = redis_stats::commands(bench.services.redis_port)? - before;
                    let per = ran as f64 / result.requests as f64;
                    redis.push(subject.column, per);
                    format!(", {per:.4} Redis commands/req")
                }
                None => String::new(),
            };
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let socket_errors = result
                .socket_errors
                .as_deref()
                .map(|e| format!(", socket errors: {e}"))
                .unwrap_or_default();
            subject.say(
                rep,
                &format!(
                    "{:7.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {per_request:.0} CPU µs/req{redis_per_request}{socket_errors}",
                    result.requests_per_sec,
                    ms(result.p50),
                    ms(result.p99),
                ),
            );
            rps.push(subject.column, result.requests_per_sec);
            p50.push(subject.column, ms(result.p50));
            p99.push(subject.column, ms(result.p99));
            cpu.push(subject.column, per_request);
        }
    }
    Ok(vec![rps, p50, p99, cpu, redis])
}

/// 3. Many parallel downloads of a mid-size object: aggregate throughput, the proxy's peak
///    memory (a fresh proxy per run, so that VmHWM is this run's) and CPU time per GiB.
fn parallel_downloads(bench: &Bench) -> Result<Vec<Metric>> {
    let plan = bench.plan;
    let title = format!("{} × {}", plan.parallel, plan.medium.label());
    println!("\n3. {title} in parallel");
    let mut speed = Metric::new(&title, "parallel.mb_per_s", "aggregate MB/s")
        .target(Target::MinRatio(0.70))
        .python("0.23× direct");
    let mut peak = Metric::new(&title, "parallel.peak_rss_mib", "proxy peak RSS MiB")
        .target(Target::Max(64.0))
        .python("83");
    let mut cpu = Metric::new(&title, "parallel.cpu_s_per_gib", "CPU s/GiB")
        .target(Target::Max(0.9))
        .not_comparable();
    for rep in 0..plan.repetitions {
        for subject in [bench.direct(), bench.nginx_proxy()] {
            check_stop()?;
            let before = subject.cpu_time();
            let (bytes, elapsed) =
                client::parallel_downloads(&subject.endpoint, &plan.medium.key, plan.parallel)?;
            let used = subject.cpu_time() - before;
            let mb_per_s = bytes as f64 / elapsed.as_secs_f64() / 1e6;
            let per_gib = used.as_secs_f64() / (bytes as f64 / GIB);
            let mut line = format!("{mb_per_s:7.0} MB/s, {per_gib:.2} CPU s/GiB");
            if subject.column == Column::NginxProxy {
                // Its master and workers, since they started: at least this load's peak.
                let rss = procfs::tree_peak_rss(subject.pid).unwrap_or_default() as f64 / MIB;
                peak.push(subject.column, rss);
                line.push_str(&format!(", peak RSS {rss:.1} MiB"));
            }
            subject.say(rep, &line);
            speed.push(subject.column, mb_per_s);
            cpu.push(subject.column, per_gib);
        }

        check_stop()?;
        let proxy = bench.start_proxy()?;
        let endpoint = bench.proxy_endpoint(&proxy);
        let before = procfs::cpu_time(proxy.pid).unwrap_or_default();
        let (bytes, elapsed) =
            client::parallel_downloads(&endpoint, &plan.medium.key, plan.parallel)?;
        let used = procfs::cpu_time(proxy.pid).unwrap_or_default() - before;
        let hwm = procfs::peak_rss(proxy.pid).unwrap_or_default() as f64 / MIB;
        let mb_per_s = bytes as f64 / elapsed.as_secs_f64() / 1e6;
        let per_gib = used.as_secs_f64() / (bytes as f64 / GIB);
        println!(
            "   run {}: {:11}: {mb_per_s:7.0} MB/s, {per_gib:.2} CPU s/GiB, peak RSS {hwm:.1} MiB",
            rep + 1,
            endpoint.name
        );
        speed.proxy.push(mb_per_s);
        cpu.proxy.push(per_gib);
        peak.proxy.push(hwm);
    }
    Ok(vec![speed, peak, cpu])
}

/// 4. Random 64 KiB ranges of the big object, one after the other (video seeking).
fn random_ranges(bench: &Bench, proxy: &Proxy) -> Result<Vec<Metric>> {
    let plan = bench.plan;
    let title = format!(
        "{} × 64 KiB ranges, sequential",
        if plan.ranges == 1000 {
            "1,000".to_owned()
        } else {
            plan.ranges.to_string()
        }
    );
    println!("\n4. {title} of the {} object", plan.large.label());
    let mut rps = Metric::new(&title, "ranges.requests_per_s", "req/s")
        .target(Target::MinRatio(0.60))
        .python("700");
    for rep in 0..plan.repetitions {
        for subject in bench.subjects(proxy) {
            check_stop()?;
            let (done, elapsed) = client::random_ranges(
                &subject.endpoint,
                &plan.large.key,
                plan.large.size,
                plan.range_size,
                plan.ranges,
                plan.range_limit,
            )?;
            let per_s = done as f64 / elapsed.as_secs_f64();
            subject.say(
                rep,
                &format!(
                    "{per_s:7.0} req/s ({done} ranges in {:.2} s)",
                    elapsed.as_secs_f64()
                ),
            );
            rps.push(subject.column, per_s);
        }
    }
    Ok(vec![rps])
}

/// 5. Start-up: from spawning the proxy to its first accepted connection; then its
///    resident memory once idle after one sign-in and one small download.
fn startup(bench: &Bench) -> Result<Vec<Metric>> {
    let title = "start-up".to_owned();
    println!("\n5. {title}");
    let mut accept = Metric::new(&title, "startup.ms_to_accept", "ms to accept")
        .target(Target::Max(50.0))
        .python("386");
    let mut idle = Metric::new(&title, "startup.idle_rss_mib", "idle RSS MiB")
        .target(Target::Max(16.0))
        .python("77");
    for rep in 0..bench.plan.repetitions {
        check_stop()?;
        let proxy = bench.start_proxy()?;
        let ms = proxy.start_time.as_secs_f64() * 1000.0;
        setup::login(proxy.port, &bench.plan.small.key)?;
        std::thread::sleep(Duration::from_millis(300));
        let rss = procfs::rss(proxy.pid).unwrap_or_default() as f64 / MIB;
        println!(
            "   run {}: accepting after {ms:.1} ms; idle RSS {rss:.1} MiB",
            rep + 1
        );
        accept.proxy.push(ms);
        idle.proxy.push(rss);
    }
    Ok(vec![accept, idle])
}

fn write_results(dir: &Path, run: &report::Run, table: &str) -> Result<()> {
    let json = run.json();
    let stamp: String = run
        .date
        .chars()
        .filter(|c| *c != ':' && *c != '-')
        .collect();
    let history = dir.join("history");
    std::fs::create_dir_all(&history)
        .map_err(|e| format!("cannot create {}: {e}", history.display()))?;
    let markdown = format!(
        "Run of {}{} (RUST_LOG={}, medians of {} run(s)):\n\n{table}\n{}\n",
        run.date,
        if run.quick { ", --quick" } else { "" },
        run.rust_log,
        run.repetitions,
        run.notes
            .iter()
            .map(|n| format!("- {n}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // A --quick run must not replace the last real measurement.
    let name = if run.quick {
        "results-quick"
    } else {
        "results"
    };
    let (json_path, markdown_path) = (
        dir.join(format!("{name}.json")),
        dir.join(format!("{name}.md")),
    );
    for (path, text) in [
        (&json_path, &json),
        (&history.join(format!("{name}-{stamp}.json")), &json),
        (&markdown_path, &markdown),
    ] {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!(
        "bench: results in {} (and {}), table in {}",
        relative(&json_path),
        relative(&history),
        relative(&markdown_path)
    );
    Ok(())
}
