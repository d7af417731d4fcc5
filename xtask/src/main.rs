//! `cargo xtask`: the project's developer tasks (build, local stack, tests, containers).
//!
//! Kept to std plus three tiny crates: it runs `cargo` and spawns the project's binaries,
//! it never links the server crates themselves.

mod args;
mod bench;
mod build;
mod checks;
mod devenv;
mod down;
mod e2e;
mod engine;
mod form;
mod http;
mod pidfile;
mod ports;
mod procs;
mod seed;
mod signals;
mod smoke;
mod stack;
mod up;
mod workspace;

use std::process::ExitCode;

use args::Task;

/// Every task reports failure as one readable message.
pub type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let task = match args::parse(std::env::args().skip(1)) {
        Ok(task) => task,
        Err(message) => {
            eprintln!("xtask: {message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = match task {
        Task::Help => {
            println!("{}", args::USAGE);
            Ok(())
        }
        Task::Build { release, image } => build::run(release, image),
        Task::Up(options) => up::run(&options),
        Task::Down => down::run(),
        Task::Compose(rest) => engine::compose_passthrough(&rest),
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
