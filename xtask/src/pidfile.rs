//! `.dev/pids`: what `up --detach` started, one `<name> <pid> <port>` line each, in
//! start order, so that `down` can stop it later.

use std::path::PathBuf;

use crate::workspace::dev_dir;
use crate::Result;

/// One started process.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its program name, also checked against the live process before signalling it.
    pub name: String,
    pub pid: u32,
    pub port: u16,
}

pub fn path() -> PathBuf {
    dev_dir().join("pids")
}

/// Replaces the file with `entries`.
pub fn write(entries: &[Entry]) -> Result<()> {
    let text: String = entries
        .iter()
        .map(|e| format!("{} {} {}\n", e.name, e.pid, e.port))
        .collect();
    let path = path();
    // Written beside and renamed, so `down` never reads half a file.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The entries, or `None` when there is no pid file.
pub fn read() -> Result<Option<Vec<Entry>>> {
    let path = path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    parse(&text)
        .map(Some)
        .map_err(|line| format!("{}: unreadable line {line:?}", path.display()))
}

pub fn remove() -> Result<()> {
    match std::fs::remove_file(path()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", path().display())),
    }
}

/// `Err` holds the first line that is not `<name> <pid> <port>`.
fn parse(text: &str) -> std::result::Result<Vec<Entry>, String> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut fields = line.split_whitespace();
            let entry = (|| {
                Some(Entry {
                    name: fields.next()?.to_owned(),
                    pid: fields.next()?.parse().ok()?,
                    port: fields.next()?.parse().ok()?,
                })
            })();
            entry.ok_or_else(|| line.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_names_a_bad_one() {
        assert_eq!(
            parse("dev-s3 12 9000\n\ns3proxy 13 8000\n"),
            Ok(vec![
                Entry {
                    name: "dev-s3".into(),
                    pid: 12,
                    port: 9000
                },
                Entry {
                    name: "s3proxy".into(),
                    pid: 13,
                    port: 8000
                },
            ])
        );
        assert_eq!(parse("s3proxy x 8000"), Err("s3proxy x 8000".into()));
    }
}
