//! s3proxy: reads the configuration, builds the parts, runs the server. Nothing else,
//! but for `s3proxy healthcheck`, the container health check.

mod checks;
mod healthcheck;
mod parts;
mod signals;
mod trust;

use std::process::ExitCode;
use std::time::Duration;

use s3proxy_config::Config;

/// Exit status for a configuration or start-up problem.
const EXIT_CONFIG: u8 = 2;

/// Queued log lines get this long to reach stderr at exit.
const LOG_FLUSH: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == "healthcheck")
    {
        return healthcheck::run();
    }
    let log = telemetry::init_logging();
    let code = run_to_exit();
    log.flush(LOG_FLUSH);
    code
}

fn run_to_exit() -> ExitCode {
    let checked = match Config::from_env().and_then(checks::beyond_config) {
        Ok(checked) => checked,
        Err(e) => {
            eprintln!("s3proxy: cannot start, the configuration is invalid:\n{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("s3proxy: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Before any request: each runtime thread copies the main Sentry scope when it
    // first reports.
    let sentry = checked.config.sentry.as_ref().map(|sentry| {
        let settings = parts::sentry_settings(sentry);
        if let Some(uri) = &settings.ecs_metadata_uri {
            runtime.block_on(telemetry::resolve_instance_id(uri));
        }
        telemetry::init_sentry(&settings)
    });
    let result = runtime.block_on(parts::run(checked));
    // Downloads cut by the shutdown timeout must not hold the process up.
    runtime.shutdown_timeout(Duration::from_millis(100));
    // Queued Sentry events are sent now, for up to 2 s.
    if let Some(sentry) = sentry {
        telemetry::flush_sentry(sentry);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("s3proxy: {message}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}
