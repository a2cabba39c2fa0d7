// SPDX-License-Identifier: MIT OR Apache-2.0
//! The shared library's soname, as cargo-c gives it (libipcon.so.MAJOR.MINOR
//! while the major version is 0): a plain `cargo build` produces the same
//! library as `cargo cbuild`, and libipcon/install.sh lays it out.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libipcon.so.{abi}");
    println!("cargo:rerun-if-changed=build.rs");
}
