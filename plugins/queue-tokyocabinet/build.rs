//! Links Debian's libtokyocabinet (package libtokyocabinet-dev) into the plugin.

fn main() {
    println!("cargo:rustc-link-lib=tokyocabinet");
    println!("cargo:rerun-if-changed=build.rs");
}
