//! `gearmand-docgen --plugin-dir DIR --out DIR`: writes `man/gearmand.8`, `bash/gearmand`,
//! `zsh/_gearmand` and `fish/gearmand.fish` under the output directory, documenting the host's
//! options and those of every plugin in the plugin directory (see the library for how).

use clap::{value_parser, Arg, Command};
use std::path::PathBuf;
use std::process::ExitCode;

fn cli() -> Command {
    Command::new("gearmand-docgen")
        .about("Generate gearmand's man page and shell completions from its command line")
        .arg(
            Arg::new("plugin-dir")
                .long("plugin-dir")
                .required(true)
                .value_parser(value_parser!(PathBuf))
                .help("Directory holding every plugin to document (gear at least)"),
        )
        .arg(
            Arg::new("out")
                .long("out")
                .required(true)
                .value_parser(value_parser!(PathBuf))
                .help("Output directory (created if missing)"),
        )
}

fn main() -> ExitCode {
    let m = cli().get_matches();
    let plugin_dir = m.get_one::<PathBuf>("plugin-dir").expect("required");
    let out = m.get_one::<PathBuf>("out").expect("required");
    let result = gearmand_docgen::plugins_in(plugin_dir).and_then(|plugins| {
        let names: Vec<&str> = plugins.iter().map(|p| p.name.as_str()).collect();
        eprintln!("gearmand-docgen: documenting plugins {}", names.join(", "));
        gearmand_docgen::write_all(&plugins, out)
    });
    match result {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gearmand-docgen: {e}");
            ExitCode::FAILURE
        }
    }
}
