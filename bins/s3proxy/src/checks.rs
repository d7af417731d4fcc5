//! Start-up checks that need the parts' own rules, which the configuration crate does
//! not know: reported like every other configuration problem (named, exit 2).

use http_frontend::{AccessRules, Allowed};
use s3proxy_config::{AccessConfig, Config, ConfigError, Problem};

/// The configuration, and what was read and checked from the files it names.
pub struct Checked {
    pub config: Config,
    pub access_rules: AccessRules,
}

pub fn beyond_config(config: Config) -> Result<Checked, ConfigError> {
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
    let access_rules = access_rules(&config.access).unwrap_or_else(|problem| {
        problems.push(problem);
        AccessRules::default()
    });
    if problems.is_empty() {
        Ok(Checked {
            config,
            access_rules,
        })
    } else {
        Err(ConfigError { problems })
    }
}

/// The global lists, and the rules file read and parsed.
fn access_rules(access: &AccessConfig) -> Result<AccessRules, Problem> {
    let global = Allowed::new(
        access.allowed_emails.clone(),
        access.allowed_email_domains.clone(),
        access.allowed_groups.clone(),
    );
    let Some(file) = &access.rules_file else {
        return Ok(AccessRules::global(global));
    };
    let text = std::fs::read_to_string(file).map_err(|e| Problem {
        variable: "ACCESS_RULES_FILE",
        message: format!("cannot read {}: {e}", file.display()),
    })?;
    AccessRules::from_toml(global, &text).map_err(|e| Problem {
        variable: "ACCESS_RULES_FILE",
        message: format!("{}: {e}", file.display()),
    })
}
