//! `cent-run`: parse arguments, hand them to the library, exit with its code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cent_run::cli::Cli::parse();
    std::process::ExitCode::from(cent_run::app::main(cli))
}
