//! The `iorready` command line: parse, resolve, run, report.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
