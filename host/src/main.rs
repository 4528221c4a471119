//! The `gearmand` binary: everything happens in [`gearmand::runtime::main`].

fn main() {
    std::process::exit(gearmand::runtime::main(std::env::args_os().collect()));
}
