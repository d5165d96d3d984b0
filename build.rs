//! Tells the tests which local test servers this machine has, so that a
//! test needing a missing one shows as ignored, with its reason, in the
//! test summary instead of passing without testing. Under CI (`CI` set)
//! nothing is ignored: a missing server fails its tests.

use std::path::Path;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(no_tryton)");
    println!("cargo:rustc-check-cfg=cfg(no_oauth_server)");
    for var in ["CI", "IORREADY_TRYTON_VENV", "IORREADY_TRYTON_DB"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    // Its modification time changes when `npm ci` adds node_modules.
    println!("cargo:rerun-if-changed=tests/oauth");
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CI").is_some() {
        return;
    }
    let var = |name: &str| std::env::var_os(name).map(std::path::PathBuf::from);
    let tryton = match (var("IORREADY_TRYTON_VENV"), var("IORREADY_TRYTON_DB")) {
        (Some(venv), Some(db)) => venv.join("bin/trytond").is_file() && db.is_file(),
        _ => false,
    };
    if !tryton {
        println!("cargo:rustc-cfg=no_tryton");
    }
    if !Path::new("tests/oauth/node_modules/oauth2-mock-server").is_dir() {
        println!("cargo:rustc-cfg=no_oauth_server");
    }
}
