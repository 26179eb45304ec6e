use clap::Parser;

fn main() -> std::process::ExitCode {
    syncwatch::cli::run(syncwatch::cli::Args::parse())
}
