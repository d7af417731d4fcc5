//! Start-up checks that need the parts' own rules, which the configuration crate does
//! not know: reported like every other configuration problem (named, exit 2).

use s3proxy_config::{Config, ConfigError, Problem};

pub fn beyond_config(config: Config) -> Result<Config, ConfigError> {
    let mut problems = Vec::new();
    // The healthcheck key is served by name: it gets the checks a request's key gets.
    if http_frontend::check_key(&config.healthcheck_key).is_err() {
        problems.push(Problem {
            variable: "AWS_S3_HEALTHCHECK_KEY",
            message: "must be a key requests can name: not empty, no leading `/`, no `.` or \
                      `..` segment, no control character"
                .into(),
        });
    }
    if let Some(sentry) = &config.sentry {
        if !telemetry::dsn_is_valid(&sentry.dsn) {
            problems.push(Problem {
                variable: "SENTRY_DSN",
                message: "is not a valid Sentry DSN (https://<key>@<host>/<project id>)".into(),
            });
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError { problems })
    }
}
