//! The `package` step: the library crates packaged together, as a registry would take
//! them, each then built from its own package (`cargo package`'s verification). Their
//! workspace dependencies resolve to each other's packages, not to the registry.

use std::fs;

use devstack::{workspace, Result};

/// Where the library crates live; those whose manifest says `publish = true` are packaged.
const CRATES_DIR: &str = "crates";

pub fn run() -> Result<()> {
    let names = publishable_crates()?;
    if names.is_empty() {
        return Err(format!(
            "no crate under {CRATES_DIR}/ says `publish = true`"
        ));
    }
    println!("packaging {}", names.join(", "));
    let mut cargo = workspace::cargo();
    // --allow-dirty: the step checks the working tree as it is, committed or not.
    cargo.args(["package", "--allow-dirty"]);
    for name in &names {
        cargo.args(["-p", name]);
    }
    workspace::run(&mut cargo)
}

/// The names of the crates under `crates/` whose manifest says `publish = true`, sorted.
fn publishable_crates() -> Result<Vec<String>> {
    let dir = workspace::root().join(CRATES_DIR);
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        if let Some(name) = publishable_name(&text) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The package name of a manifest that says `publish = true`.
fn publishable_name(manifest: &str) -> Option<String> {
    let lines = || manifest.lines().map(str::trim);
    lines().find(|line| *line == "publish = true")?;
    let name = lines().find_map(|line| line.strip_prefix("name = "))?;
    Some(name.trim_matches('"').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_manifests_that_say_publish_true_are_packaged() {
        let library = "[package]\nname = \"sso-gate\"\nversion = \"0.1.0\"\npublish = true\n";
        assert_eq!(publishable_name(library).as_deref(), Some("sso-gate"));
        let dev_only = "[package]\nname = \"dev-s3\"\npublish.workspace = true\n";
        assert_eq!(publishable_name(dev_only), None);
        let never = "[package]\nname = \"launcher\"\npublish = false\n";
        assert_eq!(publishable_name(never), None);
    }
}
