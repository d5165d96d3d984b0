//! The `iorready` command line: parse, resolve, run, report.

mod cli;

/// mimalloc keeps memory flat over long runs where glibc's allocator, with
/// its moving mmap threshold, let a 1,000-workbook run grow to several
/// times the memory of a 100-workbook one; it is also faster on the many
/// small allocations of reading and writing cells.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
