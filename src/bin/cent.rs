//! `cent SECTION METHOD [--params JSON] [--config PATH]`: the original
//! Python library's console client, driven by `~/.centrc` profiles.

fn main() -> std::process::ExitCode {
    cent_run::app::cent().into()
}
