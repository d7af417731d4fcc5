//! Test media made on the spot with Debian's `ffmpeg` from its built-in test source:
//! nothing is downloaded and nothing is committed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::paths::require;

/// A VP8 WebM of `seconds` seconds (testsrc's counter and colour bars), 320×240 at
/// 25 frames per second, a keyframe every second so that a seek lands quickly.
///
/// Noise keeps it at about 3 Mbit/s (some 12 MB for 32 s): more than Chromium buffers
/// ahead, so a seek to the middle needs a range of its own rather than bytes it holds.
pub fn webm_clip(dir: &Path, seconds: u32) -> PathBuf {
    let out = dir.join("clip.webm");
    let source = format!("testsrc=size=320x240:rate=25:duration={seconds}");
    ffmpeg(&["-f", "lavfi", "-i", &source, "-vf", "noise=alls=30:allf=t"])
        .args(["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"])
        .args(["-b:v", "3M", "-minrate", "3M", "-maxrate", "3M"])
        .args(["-g", "25", "-an"])
        .arg(&out)
        .run();
    out
}

/// A PNG of testsrc's first frame, `width`×`height`.
pub fn png_image(dir: &Path, width: u32, height: u32) -> PathBuf {
    let out = dir.join("image.png");
    let source = format!("testsrc=size={width}x{height}");
    ffmpeg(&["-f", "lavfi", "-i", &source, "-frames:v", "1"])
        .arg(&out)
        .run();
    out
}

/// Encoding a half-minute clip takes about a second; this only bounds a stuck one.
const FFMPEG_LIMIT: Duration = Duration::from_secs(60);

struct Ffmpeg(Command);

fn ffmpeg(args: &[&str]) -> Ffmpeg {
    let mut command = Command::new(require("ffmpeg"));
    command
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args);
    Ffmpeg(command)
}

impl Ffmpeg {
    fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.0.arg(arg);
        self
    }

    fn args<const N: usize>(mut self, args: [&str; N]) -> Self {
        self.0.args(args);
        self
    }

    /// Runs it to the end, at most [`FFMPEG_LIMIT`]: it runs on the test's thread, where
    /// the journey's own time limit cannot interrupt it.
    fn run(mut self) {
        let mut child = self
            .0
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run ffmpeg: {e}"));
        let deadline = Instant::now() + FFMPEG_LIMIT;
        let status = loop {
            match child.try_wait().expect("wait for ffmpeg") {
                Some(status) => break status,
                None if Instant::now() < deadline => sleep(Duration::from_millis(20)),
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("ffmpeg did not finish within {} s", FFMPEG_LIMIT.as_secs());
                }
            }
        };
        // With `-loglevel error` it prints a line or two, so the pipe cannot fill up.
        let mut errors = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut errors);
        }
        assert!(status.success(), "ffmpeg failed ({status}): {errors}");
    }
}
