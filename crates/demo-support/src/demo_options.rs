//! The command line every stage's demo shares: a few on/off options, `--help`,
//! and a clear refusal of anything else; and printing that ends the program
//! cleanly when standard output goes away.
//!
//! Mirrors nothing in asyncio. It lives here so that each stage's `main.rs`
//! holds only what that stage's demo does.

use std::io::{self, Write};
use std::process::ExitCode;

/// Print `line` to standard output. If the reader has gone (a broken pipe,
/// as after `| head -2`), end the program at once, with success and without
/// a word: there is nobody left to tell. If writing fails otherwise (a full
/// disk), end it with one line on standard error and exit code 1.
/// `println!` would panic in both cases.
pub fn print_line(line: &str) {
    let mut stdout = io::stdout().lock();
    let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) else {
        return;
    };
    if error.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("cannot write to standard output: {error}");
    std::process::exit(1);
}

/// Read the options in `args` (the program name already skipped). Each must
/// be one of `known`; `--help` or `-h` prints `help`. On `Ok`, the options
/// given; on `Err`, the exit code to leave with: 0 after the help, 2 (with a
/// one-line hint on standard error) after an unknown option.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    known: &[&'static str],
    help: &str,
) -> Result<Vec<&'static str>, ExitCode> {
    let mut given = Vec::new();
    for arg in args {
        match known.iter().find(|&&option| option == arg) {
            Some(option) => given.push(*option),
            None if arg == "--help" || arg == "-h" => {
                print_line(help);
                return Err(ExitCode::SUCCESS);
            }
            None => {
                eprintln!("unknown option {arg:?}; try --help");
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn known_options_are_returned_in_order() {
        let given = parse(
            args(&["--timeline", "--virtual"]),
            &["--virtual", "--timeline"],
            "",
        );
        assert_eq!(given, Ok(vec!["--timeline", "--virtual"]));
        assert_eq!(parse(args(&[]), &["--virtual"], ""), Ok(vec![]));
    }

    #[test]
    fn help_and_unknown_options_end_the_program() {
        assert_eq!(
            parse(args(&["--help"]), &[], "help"),
            Err(ExitCode::SUCCESS)
        );
        assert_eq!(
            parse(args(&["--nope"]), &["--virtual"], ""),
            Err(ExitCode::from(2))
        );
    }
}
