//! The frontend tested in process: routing, the login flow, proxying and response
//! headers, against the real S3 server and SSO mock (in this process too). One test
//! binary, so one link. What needs the proxy as a process (signals, start-up, its log,
//! clocks of connections) or the failures of a real Redis stays in
//! `bins/s3proxy/tests`.

mod access_rules;
mod common;
mod hardening;
mod hostile;
mod login_flow;
mod openid;
mod proxying;
mod sign_out;
mod state_binding;
