//! A failed spawn, said so that the cause shows: which program, run in which folder.
//!
//! `Command::spawn` reports a missing program and a missing working folder alike, as a
//! bare "No such file or directory"; a checkout moved after building gave exactly that.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The message `cannot start WHAT: PROGRAM in FOLDER: ERROR`, with a hint when the
/// folder or the program is missing.
pub fn spawn_error(what: &str, command: &Command, error: &io::Error) -> String {
    let program = Path::new(command.get_program());
    let folder = match command.get_current_dir() {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let hint = if !folder.is_dir() {
        format!(" (the folder {} does not exist)", folder.display())
    } else if program.components().count() > 1 {
        // A path: relative ones are resolved in the child's folder.
        let full = folder.join(program);
        if full.exists() {
            String::new()
        } else {
            format!(" ({} does not exist)", full.display())
        }
    } else if error.kind() == io::ErrorKind::NotFound {
        format!(" ({} is not on PATH)", program.display())
    } else {
        String::new()
    };
    format!(
        "cannot start {what}: {} in {}: {error}{hint}",
        program.display(),
        folder.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(mut command: Command) -> String {
        let e = command.spawn().map(|_| ()).unwrap_err();
        spawn_error("the thing", &command, &e)
    }

    #[test]
    fn names_the_program_and_the_folder() {
        let mut command = Command::new("true");
        command.current_dir("/nonexistent/checkout");
        let message = error_of(command);
        assert!(message.starts_with("cannot start the thing: true in /nonexistent/checkout"));
        assert!(message.contains("the folder /nonexistent/checkout does not exist"));

        let message = error_of(Command::new("/nonexistent/bin/dev-s3"));
        assert!(
            message.contains("/nonexistent/bin/dev-s3 does not exist"),
            "{message}"
        );

        let message = error_of(Command::new("no-such-program-here"));
        assert!(
            message.contains("no-such-program-here is not on PATH"),
            "{message}"
        );
    }
}
