//! Where `read` and `dump` take the card number from: exactly one of
//! `--card-number N` (visible to every user of the machine through `ps` and
//! `/proc/PID/cmdline` while zairyu runs), `--card-number-stdin` (one line on standard
//! input), `--card-number-fd FD` (one line from an inherited file descriptor, opened
//! as `/dev/fd/FD`) and the environment variable `ZAIRYU_CARD_NUMBER`.
//!
//! The number goes straight into the core's zeroizing [`CardNumber`]: a line is read
//! byte by byte, unbuffered, into a zeroizing buffer (nothing past its end is
//! consumed), and the strings that held it are wiped. What stays out of reach: the
//! process's argument vector and environment block, and clap's copy of the argument.

use std::fs::File;
use std::io::{self, Read};

use zairyu::CardNumber;
use zairyu::error::InputError;
use zeroize::Zeroizing;

use crate::args::NumberArgs;
use crate::error::{CliCode, CliError};

/// The environment variable with the card number.
pub const ENV: &str = "ZAIRYU_CARD_NUMBER";

/// The longest line taken as a card number (a card number is 12 characters; white
/// space around it is allowed).
const MAX_LINE: usize = 256;

/// The one source of the card number.
#[derive(Debug)]
pub enum Source {
    /// `--card-number`.
    Arg(Zeroizing<String>),
    /// `--card-number-stdin`.
    Stdin,
    /// `--card-number-fd`.
    Fd(u32),
    /// `ZAIRYU_CARD_NUMBER`.
    Env,
}

impl NumberArgs {
    /// The one source given: on the command line, or `ZAIRYU_CARD_NUMBER` if present
    /// in the environment (`env_set`). None or several is [`CliCode::CardNumberSource`].
    /// Takes the `--card-number` string out of `self`, to be wiped after use.
    pub fn source(&mut self, env_set: bool) -> Result<Source, CliError> {
        let mut given = Vec::new();
        if self.card_number.is_some() {
            given.push("--card-number");
        }
        if self.card_number_stdin {
            given.push("--card-number-stdin");
        }
        if self.card_number_fd.is_some() {
            given.push("--card-number-fd");
        }
        if env_set {
            given.push(ENV);
        }
        match given.len() {
            0 => Err(CliError::cli(
                CliCode::CardNumberSource,
                format!(
                    "no card number: give it with --card-number-stdin, --card-number-fd FD or the environment \
                     variable {ENV} (or --card-number N, which other users of this machine can see)"
                ),
            )),
            1 => Ok(if let Some(n) = self.card_number.take() {
                Source::Arg(Zeroizing::new(n))
            } else if self.card_number_stdin {
                Source::Stdin
            } else if let Some(fd) = self.card_number_fd {
                Source::Fd(fd)
            } else {
                Source::Env
            }),
            _ => Err(CliError::cli(
                CliCode::CardNumberSource,
                format!("the card number is given more than once ({}): give exactly one source", given.join(", ")),
            )),
        }
    }
}

/// Whether `ZAIRYU_CARD_NUMBER` is set (even to an empty value).
pub fn env_set() -> bool {
    std::env::var_os(ENV).is_some()
}

impl Source {
    /// Reads the number from its source.
    pub fn read(self) -> Result<CardNumber, CliError> {
        let number = match self {
            Source::Arg(text) => CardNumber::parse(&text)?,
            Source::Env => match std::env::var_os(ENV).map(std::ffi::OsString::into_string) {
                Some(Ok(text)) => CardNumber::parse(&Zeroizing::new(text))?,
                Some(Err(raw)) => {
                    let raw = Zeroizing::new(raw.into_encoded_bytes());
                    return Err(InputError::BadCardNumber { len: raw.len() }.into());
                }
                None => return Err(CliError::cli(CliCode::CardNumberSource, format!("{ENV} is not set"))),
            },
            Source::Stdin => {
                if std::io::IsTerminal::is_terminal(&io::stdin()) {
                    eprint!("card number: ");
                }
                read_line(stdin_unbuffered(), "standard input")?
            }
            Source::Fd(fd) => {
                let path = format!("/dev/fd/{fd}");
                let file = File::open(&path)
                    .map_err(|e| InputError::BadFile { path: path.clone(), reason: format!("cannot open: {e}") })?;
                read_line(file, &path)?
            }
        };
        Ok(number)
    }
}

/// Standard input without std's buffer (which would keep a copy of what it read): a
/// duplicate of its descriptor, read directly. Where that is not possible, standard
/// input itself.
pub fn stdin_unbuffered() -> Box<dyn Read + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = io::stdin().as_fd().try_clone_to_owned() {
            return Box::new(File::from(fd));
        }
    }
    Box::new(io::stdin())
}

/// Reads one line (up to `\n` or the end) from `source`, byte by byte into a zeroizing
/// buffer, and parses it as a card number. `what` names the source in errors.
pub fn read_line(mut source: impl Read, what: &str) -> Result<CardNumber, InputError> {
    let mut buf = Zeroizing::new([0u8; MAX_LINE]);
    let mut byte = Zeroizing::new([0u8; 1]);
    let mut len = 0usize;
    let mut too_long = false;
    loop {
        match source.read(&mut byte[..]) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) if len < MAX_LINE => {
                buf[len] = byte[0];
                len += 1;
            }
            // Count on (without keeping) to say how long the line was.
            Ok(_) => {
                too_long = true;
                len = len.saturating_add(1);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(InputError::BadFile { path: what.to_owned(), reason: format!("cannot read: {e}") }),
        }
    }
    if too_long {
        return Err(InputError::BadCardNumber { len });
    }
    match core::str::from_utf8(&buf[..len]) {
        Ok(text) => CardNumber::parse(text),
        Err(_) => Err(InputError::BadCardNumber { len }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(number: Option<&str>, stdin: bool, fd: Option<u32>) -> NumberArgs {
        NumberArgs { card_number: number.map(str::to_owned), card_number_stdin: stdin, card_number_fd: fd }
    }

    #[test]
    fn exactly_one_source() {
        assert!(matches!(args(Some("AB12345678CD"), false, None).source(false), Ok(Source::Arg(_))));
        assert!(matches!(args(None, true, None).source(false), Ok(Source::Stdin)));
        assert!(matches!(args(None, false, Some(3)).source(false), Ok(Source::Fd(3))));
        assert!(matches!(args(None, false, None).source(true), Ok(Source::Env)));
        let none = args(None, false, None).source(false).unwrap_err();
        assert_eq!((none.code(), none.exit_code()), ("card_number_source", crate::exit::USAGE));
        assert!(none.to_string().contains("--card-number-stdin"), "{none}");
        for (mut a, env, names) in [
            (args(Some("AB12345678CD"), true, None), false, "--card-number, --card-number-stdin"),
            (args(None, true, Some(3)), false, "--card-number-stdin, --card-number-fd"),
            (args(Some("AB12345678CD"), false, None), true, "--card-number, ZAIRYU_CARD_NUMBER"),
            (args(None, true, Some(0)), true, "--card-number-stdin, --card-number-fd, ZAIRYU_CARD_NUMBER"),
        ] {
            let e = a.source(env).unwrap_err();
            assert_eq!(e.code(), "card_number_source");
            assert!(e.to_string().contains(names), "{e}");
            assert!(!e.to_string().contains("AB12345678CD"), "{e}");
        }
    }

    #[test]
    fn one_line_is_read_and_nothing_after_it() {
        let mut input: &[u8] = b"ab12345678cd\r\nrest";
        assert_eq!(read_line(&mut input, "test").unwrap().expose(), b"AB12345678CD");
        assert_eq!(input, b"rest");
        assert_eq!(read_line(&b"AB12345678CD"[..], "test").unwrap().expose(), b"AB12345678CD");
        for (bad, len) in [(&b""[..], 0), (b"\n", 0), (b"AB123\n", 5), (b"AB1234567\xff8CD\n", 13)] {
            assert_eq!(read_line(bad, "test").unwrap_err(), InputError::BadCardNumber { len }, "{bad:?}");
        }
        let long = vec![b'A'; MAX_LINE + 10];
        assert_eq!(read_line(&long[..], "test").unwrap_err(), InputError::BadCardNumber { len: MAX_LINE + 10 });
    }

    /// A source that fails, as a closed or unreadable descriptor does.
    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::PermissionDenied.into())
        }
    }

    #[test]
    fn an_unreadable_source_is_a_typed_input_error() {
        match read_line(Failing, "/dev/fd/7") {
            Err(InputError::BadFile { path, reason }) => {
                assert_eq!(path, "/dev/fd/7");
                assert!(reason.starts_with("cannot read: "), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
