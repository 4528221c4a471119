//! The `gearmand` binary.

fn main() {
    eprintln!("gearmand: not yet");
    std::process::exit(1);
}
