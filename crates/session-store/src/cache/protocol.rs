//! What the tracking connection sends, and what its replies mean.

use std::time::{Duration, Instant};

use deadpool_redis::redis;
use redis_protocol::resp3::types::OwnedFrame;

use super::link::Endpoint;
use crate::keys::{checked_key, profile_key, token_key, SESSION_KEY_PREFIX};
use crate::Session;

/// Shown in `CLIENT LIST`, so operators (and tests) can tell it from the data connection.
pub const CONNECTION_NAME: &str = "s3proxy-session-cache";

/// `HELLO 3`: RESP3 (invalidations arrive as pushes on this same connection), with the
/// URL's credentials and our name.
pub(crate) fn hello(endpoint: &Endpoint) -> Vec<u8> {
    let mut cmd = redis::cmd("HELLO");
    cmd.arg(3);
    if let Some(password) = &endpoint.password {
        cmd.arg("AUTH")
            .arg(endpoint.username.as_deref().unwrap_or("default"))
            .arg(password);
    }
    cmd.arg("SETNAME").arg(CONNECTION_NAME);
    cmd.get_packed_command()
}

pub(crate) fn select(db: i64) -> Vec<u8> {
    redis::cmd("SELECT").arg(db).get_packed_command()
}

/// Broadcast mode: Redis pushes an invalidation whenever any session key changes,
/// whoever reads it. Not the default mode (only the keys this connection read), for its
/// order: Redis writes broadcast invalidations just before the replies of that pass of
/// its event loop, so one reaches this socket before the writer learns its change is
/// done, where a default-mode invalidation is written after. It also spares Redis a
/// table of every key read (a flood of made-up cookies would fill it).
pub(crate) fn tracking_on() -> Vec<u8> {
    redis::cmd("CLIENT")
        .arg("TRACKING")
        .arg("on")
        .arg("BCAST")
        .arg("PREFIX")
        .arg(SESSION_KEY_PREFIX)
        .get_packed_command()
}

pub(crate) fn ping() -> Vec<u8> {
    redis::cmd("PING").get_packed_command()
}

/// Replies to [`read_session`].
pub(crate) const READ_REPLIES: usize = 4;

/// Token, marker and profile, and how long each has left: four replies.
pub(crate) fn read_session(session_id: &str) -> Vec<u8> {
    let (token, checked, profile) = (
        token_key(session_id),
        checked_key(session_id),
        profile_key(session_id),
    );
    let mut pipe = redis::pipe();
    pipe.cmd("MGET").arg(&token).arg(&checked).arg(&profile);
    pipe.cmd("PTTL").arg(&token);
    pipe.cmd("PTTL").arg(&checked);
    pipe.cmd("PTTL").arg(&profile);
    pipe.get_packed_pipeline()
}

/// An error reply's code (its first word: `ERR`, `NOPERM`, `LOADING`...). Only the code
/// is ever kept: Redis quotes a refused command's arguments, a password among them.
pub(crate) fn error_code(frame: &OwnedFrame) -> Option<String> {
    let text = match frame {
        OwnedFrame::SimpleError { data, .. } => data.as_bytes(),
        OwnedFrame::BlobError { data, .. } => data.as_slice(),
        _ => return None,
    };
    let code = text.split(|b| *b == b' ').next().unwrap_or_default();
    Some(String::from_utf8_lossy(code).into_owned())
}

/// Error codes that mean "not now" rather than "never": the connection is tried again.
pub(crate) fn is_transient(code: &str) -> bool {
    matches!(
        code,
        "LOADING" | "MASTERDOWN" | "BUSY" | "TRYAGAIN" | "WRONGPASS" | "NOAUTH"
    )
}

/// What a session read came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SessionRead {
    pub session: Option<Session>,
    /// The session's profile, when it has one (only with a session).
    pub profile: Option<String>,
    /// When the entry must be gone: the earliest of the present keys' expiries, counted
    /// from when the read was sent. `None`: no present key has a TTL.
    pub expires: Option<Instant>,
    /// Worth an entry: a session was found and its keys were still there for `PTTL`.
    pub cacheable: bool,
}

/// The four replies of [`read_session`], or the error code of the first error among them.
pub(crate) fn session_read(frames: &[OwnedFrame], sent: Instant) -> Result<SessionRead, String> {
    if let Some(code) = frames.iter().find_map(error_code) {
        return Err(code);
    }
    let [values, token_ttl, checked_ttl, profile_ttl] = frames else {
        return Err("wrong number of replies".into());
    };
    let OwnedFrame::Array { data: values, .. } = values else {
        return Err("MGET: not an array".into());
    };
    let [token, checked, profile] = values.as_slice() else {
        return Err("MGET: not three values".into());
    };
    let token = text(token, "token")?;
    let checked = !matches!(checked, OwnedFrame::Null);
    let profile = text(profile, "profile")?;
    let (Some(token_ttl), Some(checked_ttl), Some(profile_ttl)) =
        (number(token_ttl), number(checked_ttl), number(profile_ttl))
    else {
        return Err("PTTL: not a number".into());
    };
    let Some(token) = token else {
        return Ok(SessionRead {
            session: None,
            profile: None,
            expires: None,
            cacheable: false,
        });
    };
    // The TTLs of the keys the MGET found; a key it did not find has none to keep (one
    // made since then has its invalidation on the way).
    let present = [
        Some(token_ttl),
        checked.then_some(checked_ttl),
        profile.is_some().then_some(profile_ttl),
    ];
    // PTTL: -2 the key is gone (changed since the MGET: its invalidation follows), -1 no
    // TTL, else milliseconds left.
    let gone = present.contains(&Some(-2));
    let expires = present
        .into_iter()
        .flatten()
        .filter_map(|ttl| u64::try_from(ttl).ok())
        .map(|ms| sent + Duration::from_millis(ms))
        .min();
    Ok(SessionRead {
        session: Some(Session { token, checked }),
        profile,
        expires,
        cacheable: !gone,
    })
}

/// A string value of the `MGET`, or `None` for a missing key.
fn text(frame: &OwnedFrame, what: &str) -> Result<Option<String>, String> {
    match frame {
        OwnedFrame::Null => Ok(None),
        OwnedFrame::BlobString { data, .. } => String::from_utf8(data.clone())
            .map(Some)
            .map_err(|_| format!("{what}: not UTF-8")),
        _ => Err(format!("MGET: unexpected {what} value")),
    }
}

fn number(frame: &OwnedFrame) -> Option<i64> {
    match frame {
        OwnedFrame::Number { data, .. } => Some(*data),
        _ => None,
    }
}

/// What an invalidation push drops.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Invalidation {
    Keys(Vec<Vec<u8>>),
    /// `FLUSHDB`/`FLUSHALL` (a null key list): everything.
    All,
}

/// `Some` for a push that invalidates; `None` for any other push (ignored).
pub(crate) fn invalidation(data: &[OwnedFrame]) -> Option<Invalidation> {
    let [kind, keys] = data else {
        return None;
    };
    let is_invalidate = match kind {
        OwnedFrame::BlobString { data, .. } | OwnedFrame::SimpleString { data, .. } => {
            data.as_slice() == b"invalidate"
        }
        _ => false,
    };
    if !is_invalidate {
        return None;
    }
    Some(match keys {
        OwnedFrame::Array { data, .. } => Invalidation::Keys(
            data.iter()
                .filter_map(|key| match key {
                    OwnedFrame::BlobString { data, .. } | OwnedFrame::SimpleString { data, .. } => {
                        Some(data.clone())
                    }
                    _ => None,
                })
                .collect(),
        ),
        // Null, or anything this code does not understand: drop everything, to be safe.
        _ => Invalidation::All,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis_protocol::resp3::decode::complete::decode;

    fn frame(bytes: &[u8]) -> OwnedFrame {
        let (frame, used) = decode(bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        frame
    }

    fn read(bytes: &[&[u8]]) -> Result<SessionRead, String> {
        let frames: Vec<_> = bytes.iter().map(|b| frame(b)).collect();
        session_read(&frames, Instant::now())
    }

    #[test]
    fn a_session_with_both_keys_expires_with_the_earlier() {
        let sent = Instant::now();
        let frames = [
            frame(b"*3\r\n$3\r\ntok\r\n$7\r\nchecked\r\n_\r\n"),
            frame(b":36000000\r\n"),
            frame(b":5000\r\n"),
            frame(b":-2\r\n"),
        ];
        let read = session_read(&frames, sent).unwrap();
        assert_eq!(
            read.session,
            Some(Session {
                token: "tok".into(),
                checked: true
            })
        );
        assert_eq!(read.expires, Some(sent + Duration::from_millis(5000)));
        assert!(read.cacheable);
    }

    #[test]
    fn a_session_with_a_profile_keeps_it_and_expires_with_the_earliest_key() {
        let sent = Instant::now();
        let frames = [
            frame(b"*3\r\n$3\r\ntok\r\n$7\r\nchecked\r\n$13\r\n{\"email\":\"a\"}\r\n"),
            frame(b":36000000\r\n"),
            frame(b":5000\r\n"),
            frame(b":3000\r\n"),
        ];
        let read = session_read(&frames, sent).unwrap();
        assert_eq!(
            read.session,
            Some(Session {
                token: "tok".into(),
                checked: true
            })
        );
        assert_eq!(read.profile.as_deref(), Some("{\"email\":\"a\"}"));
        assert_eq!(read.expires, Some(sent + Duration::from_millis(3000)));
        assert!(read.cacheable);

        // A profile gone between the MGET and its PTTL: answered, not cached.
        let frames = [
            frame(b"*3\r\n$3\r\ntok\r\n_\r\n$2\r\n{}\r\n"),
            frame(b":36000000\r\n"),
            frame(b":-2\r\n"),
            frame(b":-2\r\n"),
        ];
        let read = session_read(&frames, sent).unwrap();
        assert_eq!(read.profile.as_deref(), Some("{}"));
        assert!(!read.cacheable);

        // A profile that is not UTF-8 is a reply not understood.
        let frames = [
            frame(b"*3\r\n$3\r\ntok\r\n_\r\n$1\r\n\xff\r\n"),
            frame(b":1\r\n"),
            frame(b":-2\r\n"),
            frame(b":1\r\n"),
        ];
        assert_eq!(
            session_read(&frames, sent).unwrap_err(),
            "profile: not UTF-8"
        );
    }

    #[test]
    fn an_unchecked_session_expires_with_its_token() {
        let sent = Instant::now();
        let frames = [
            frame(b"*3\r\n$3\r\ntok\r\n_\r\n_\r\n"),
            frame(b":7000\r\n"),
            frame(b":-2\r\n"),
            frame(b":-2\r\n"),
        ];
        let read = session_read(&frames, sent).unwrap();
        assert_eq!(read.session.map(|s| s.checked), Some(false));
        assert_eq!(read.expires, Some(sent + Duration::from_millis(7000)));
        assert!(read.cacheable);
    }

    #[test]
    fn keys_without_ttl_have_no_deadline() {
        let r = read(&[
            b"*3\r\n$1\r\nt\r\n$7\r\nchecked\r\n_\r\n",
            b":-1\r\n",
            b":-1\r\n",
            b":-2\r\n",
        ])
        .unwrap();
        assert_eq!(r.expires, None);
        assert!(r.cacheable);
    }

    #[test]
    fn no_token_is_no_session_and_no_entry() {
        let r = read(&[
            b"*3\r\n_\r\n$7\r\nchecked\r\n$2\r\n{}\r\n",
            b":-2\r\n",
            b":100\r\n",
            b":100\r\n",
        ])
        .unwrap();
        assert_eq!(r.session, None);
        assert!(!r.cacheable);
    }

    #[test]
    fn a_key_gone_between_read_and_ttl_is_answered_but_not_cached() {
        let r = read(&[
            b"*3\r\n$1\r\nt\r\n$7\r\nchecked\r\n_\r\n",
            b":-2\r\n",
            b":100\r\n",
            b":-2\r\n",
        ])
        .unwrap();
        assert!(r.session.is_some());
        assert!(!r.cacheable);
    }

    #[test]
    fn an_error_reply_is_its_code_only() {
        let err = read(&[
            b"-LOADING Redis is loading the dataset in memory\r\n",
            b":1\r\n",
            b":1\r\n",
            b":1\r\n",
        ])
        .unwrap_err();
        assert_eq!(err, "LOADING");
        let refused = frame(b"-ERR unknown command 'HELLO', with args beginning with: '3' 'AUTH' 'default' 'hunter2'\r\n");
        assert_eq!(error_code(&refused).as_deref(), Some("ERR"));
    }

    #[test]
    fn invalidation_pushes() {
        let OwnedFrame::Push { data, .. } =
            frame(b">2\r\n$10\r\ninvalidate\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n")
        else {
            panic!("not a push")
        };
        assert_eq!(
            invalidation(&data),
            Some(Invalidation::Keys(vec![b"a".to_vec(), b"b".to_vec()]))
        );
        let OwnedFrame::Push { data, .. } = frame(b">2\r\n$10\r\ninvalidate\r\n_\r\n") else {
            panic!("not a push")
        };
        assert_eq!(invalidation(&data), Some(Invalidation::All));
        let OwnedFrame::Push { data, .. } = frame(b">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n") else {
            panic!("not a push")
        };
        assert_eq!(invalidation(&data), None);
    }

    #[test]
    fn hello_carries_the_credentials_and_the_name() {
        let endpoint = Endpoint {
            target: super::super::link::Target::Unix("/nowhere".into()),
            username: None,
            password: Some("pw".into()),
            db: 0,
        };
        let packed = String::from_utf8(hello(&endpoint)).unwrap();
        assert!(packed.contains("HELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$2\r\npw\r\n"));
        assert!(packed.contains(CONNECTION_NAME));
    }
}
