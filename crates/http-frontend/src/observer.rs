//! The sign-in gate's events, recorded in the service's metrics.

use std::sync::Arc;
use std::time::Duration;

use s3proxy_metrics::{CacheLookup, LoginStage, Metrics, Outcome, TokenCheck, Upstream};

pub(crate) struct MetricsObserver(pub Arc<Metrics>);

impl sso_gate::Observer for MetricsObserver {
    fn login(&self, stage: sso_gate::LoginStage) {
        self.0.login(match stage {
            sso_gate::LoginStage::Started => LoginStage::Started,
            sso_gate::LoginStage::Completed => LoginStage::Completed,
            sso_gate::LoginStage::Failed => LoginStage::Failed,
        });
    }

    fn token_check(&self, result: sso_gate::TokenCheck) {
        self.0.token_check(match result {
            sso_gate::TokenCheck::Accepted => TokenCheck::Accepted,
            sso_gate::TokenCheck::Rejected => TokenCheck::Rejected,
            sso_gate::TokenCheck::Failed => TokenCheck::Failed,
        });
    }

    fn session_lookup(&self, lookup: sso_gate::SessionLookup) {
        self.0.cache_lookup(match lookup {
            sso_gate::SessionLookup::Hit => CacheLookup::Hit,
            sso_gate::SessionLookup::Miss => CacheLookup::Miss,
            sso_gate::SessionLookup::Off => CacheLookup::Off,
        });
    }

    fn access_denied(&self) {
        self.0.access_denied();
    }

    fn signed_out(&self) {
        self.0.signed_out();
    }

    fn upstream(&self, upstream: sso_gate::Upstream, ok: bool, elapsed: Duration) {
        let upstream = match upstream {
            sso_gate::Upstream::Store => Upstream::Redis,
            sso_gate::Upstream::Sso => Upstream::Sso,
        };
        let outcome = if ok { Outcome::Ok } else { Outcome::Error };
        self.0.upstream(upstream, outcome, elapsed);
    }
}
