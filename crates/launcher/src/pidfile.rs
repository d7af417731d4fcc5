//! A pid file: what a detached stack started, one `<name> <pid> <port>` line each, in
//! start order, so that a later command can find and stop it.

use std::path::{Path, PathBuf};

use crate::Result;

/// One started process.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its program name, also checked against the live process before signalling it.
    pub name: String,
    pub pid: u32,
    pub port: u16,
}

/// The pid file at one path.
#[derive(Debug, Clone)]
pub struct Pidfile {
    path: PathBuf,
}

impl Pidfile {
    pub fn new(path: impl Into<PathBuf>) -> Pidfile {
        Pidfile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the file with `entries`.
    pub fn write(&self, entries: &[Entry]) -> Result<()> {
        let text: String = entries
            .iter()
            .map(|e| format!("{} {} {}\n", e.name, e.pid, e.port))
            .collect();
        // Written beside and renamed, so a reader never sees half a file.
        let partial = self.path.with_extension("partial");
        std::fs::write(&partial, text)
            .and_then(|()| std::fs::rename(&partial, &self.path))
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }

    /// The entries, or `None` when there is no pid file.
    pub fn read(&self) -> Result<Option<Vec<Entry>>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display())),
        };
        parse(&text)
            .map(Some)
            .map_err(|line| format!("{}: unreadable line {line:?}", self.path.display()))
    }

    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot remove {}: {e}", self.path.display())),
        }
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

    #[test]
    fn write_read_remove() {
        let path = std::env::temp_dir().join(format!("launcher-pids-{}", std::process::id()));
        let file = Pidfile::new(&path);
        assert_eq!(file.read(), Ok(None));
        let entries = [Entry {
            name: "redis-server".into(),
            pid: 1,
            port: 6379,
        }];
        file.write(&entries).unwrap();
        assert_eq!(file.read(), Ok(Some(entries.to_vec())));
        file.remove().unwrap();
        assert_eq!(file.read(), Ok(None));
        file.remove().unwrap();
    }
}
