//! `cargo xtask`: the project's developer tasks (build, local stack, tests, containers).
//!
//! It runs `cargo` and spawns the project's binaries through the `launcher` crate; it
//! never links the server crates themselves, so that it builds quickly.

mod args;
mod build;
mod checks;
mod down;
mod e2e;
mod engine;
mod image;
mod package;
mod seed;
mod smoke;
mod up;

use std::process::ExitCode;

use args::{Cli, Task};
use clap::{CommandFactory, Parser};
use devstack::workspace;

fn main() -> ExitCode {
    // clap prints its own errors (exit status 2) and `--help`.
    let Some(task) = Cli::parse().task else {
        let _ = Cli::command().print_help();
        return ExitCode::SUCCESS;
    };
    if let Err(message) = workspace::init() {
        eprintln!("xtask: error: {message}");
        return ExitCode::FAILURE;
    }
    let result = match task {
        Task::Build {
            release,
            image,
            offline,
        } => build::run(release, image, offline),
        Task::Up(options) => up::run(&options),
        Task::Down => down::run(),
        Task::Compose { args } => engine::compose_passthrough(&args),
        // It prints its own closing line (`N passed, M failed`), which must come last.
        Task::Test { only } => {
            return if checks::run(&only) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Task::Smoke => smoke::run(),
        Task::Bench(options) => bench::run(&options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}
