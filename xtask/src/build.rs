//! `cargo xtask build`: the three binaries, and optionally the container images.

use crate::workspace::{self, root};
use crate::{engine, Result};

/// The binaries of the local stack, each in the package of the same name.
pub const BINARIES: [&str; 3] = ["s3proxy", "sso-mock", "dev-s3"];

/// Image tags built by `--image` (the Dockerfile's targets).
const IMAGES: [(&str, &str); 2] = [("proxy", "s3proxy:local"), ("sso-mock", "sso-mock:local")];

pub fn run(release: bool, image: bool) -> Result<()> {
    // Checked first: no point compiling for minutes to then say there is no engine.
    let engine = if image {
        Some(engine::working_engine()?)
    } else {
        None
    };
    binaries(release)?;
    if let Some(engine) = engine {
        for (target, tag) in IMAGES {
            workspace::run(
                std::process::Command::new(engine)
                    .current_dir(root())
                    .args(["build", "--target", target, "--tag", tag, "."]),
            )?;
        }
        println!("built images {}", IMAGES.map(|(_, tag)| tag).join(" and "));
    }
    Ok(())
}

/// `cargo build` of the three binaries, showing cargo's own progress.
pub fn binaries(release: bool) -> Result<()> {
    let mut cargo = workspace::cargo();
    cargo.arg("build");
    if release {
        cargo.arg("--release");
    }
    for name in BINARIES {
        cargo.args(["--package", name, "--bin", name]);
    }
    workspace::run(&mut cargo)
}
