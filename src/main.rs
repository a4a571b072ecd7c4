use std::process::ExitCode;

fn main() -> ExitCode {
    aup::cli::run(std::env::args_os())
}
