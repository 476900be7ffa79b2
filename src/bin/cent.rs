//! `cent SECTION METHOD [--params JSON] [--config PATH]`: the original
//! Python library's console client, driven by `~/.centrc` profiles.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cent_run::app::console::ConsoleCli::parse();
    cent_run::app::console::main(cli).into()
}
