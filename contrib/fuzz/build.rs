//! Every protocol plugin crate defines the plugin entry point `gearmand_plugin_entry` (its
//! export macro, meant for one cdylib each). The fuzz binaries link the gear and http plugins as
//! rlibs side by side and never call the entry point, so the duplicate is harmless here: let the
//! linker keep the first definition.
fn main() {
    println!("cargo:rustc-link-arg=-Wl,--allow-multiple-definition");
}
