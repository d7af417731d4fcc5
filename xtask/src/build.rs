//! `cargo xtask build`: the three binaries, and optionally the container images.

use devstack::{workspace, Result};

use crate::engine;
use crate::image::{self, Engine};

/// The binaries of the local stack, each in the package of the same name.
pub const BINARIES: [&str; 3] = ["s3proxy", "sso-mock", "dev-s3"];

/// The Dockerfile's targets built by `--image`: target, the binary it packages, tag.
const IMAGES: [(&str, &str, &str); 2] = [
    ("proxy", "s3proxy", "localhost/s3proxy:latest"),
    ("sso-mock", "sso-mock", "localhost/sso-mock:latest"),
];

pub fn run(release: bool, image: bool, offline: bool) -> Result<()> {
    // Checked first: no point compiling for minutes to then say there is no engine.
    let engine = match image {
        true => Some(Engine(engine::working_engine()?)),
        false => None,
    };
    match engine {
        // Release builds of the images' binaries alone, as the Dockerfile's builder does.
        Some(engine) if offline => {
            image::build_binaries("release")?;
            image::build_offline(&engine, "release", &IMAGES)?;
        }
        Some(engine) => {
            binaries(release)?;
            for (target, _, tag) in IMAGES {
                engine.run(&["build", "--target", target, "--tag", tag, "."])?;
            }
        }
        None => return binaries(release),
    }
    println!(
        "built images {}",
        IMAGES.map(|(_, _, tag)| tag).join(" and ")
    );
    Ok(())
}

/// `cargo build` of the three binaries, showing cargo's own progress.
pub fn binaries(release: bool) -> Result<()> {
    workspace::build(if release { "release" } else { "dev" }, &BINARIES)
}
