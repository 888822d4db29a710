//! The input side of `zairyu watch`: what one line on its standard input means
//! ([`parse`]), and which card insertion it may be used for ([`Insertions`]).
//!
//! `watch` gives every card insertion an id (1, 2, 3, … for the life of the process),
//! carried by its `card_inserted` event and by every later event about that card. The
//! registry system answers an insertion with one line:
//!
//! | line | means |
//! |---|---|
//! | `{"insertion": 7, "card_number": "AB12345678CD"}` | read insertion 7 with this number |
//! | `{"insertion": 7, "card_number": ""}` | do not read insertion 7 (`skipped`) |
//! | `AB12345678CD` (a plain line) | read the card waiting for its number: the insertion announced *before* the line arrived and still in the reader |
//! | an empty line | skip the card waiting for its number |
//!
//! A line is used at most once, and only for the insertion it names (a plain line:
//! the one waiting when it arrives). Any other line is rejected — never kept for a
//! later card — with one of these codes:
//!
//! | code | the line |
//! |---|---|
//! | `watch_bad_line` | is not UTF-8, longer than [`MAX_LINE`] bytes, or an object that is not exactly `{"insertion": N, "card_number": "…"}` |
//! | `watch_no_insertion` | is plain, and no announced card waits for its number (none inserted yet, the card left, or the line arrived before `card_inserted`) |
//! | `watch_unknown_insertion` | names an insertion not announced (yet) |
//! | `watch_insertion_gone` | names an insertion whose card left the reader (or was replaced) |
//! | `watch_insertion_answered` | is a second line for the same insertion |
//!
//! A plain line that is not a valid card number is still that insertion's line: the
//! read fails with `input_bad_card_number` and the card is not asked for again.
//! Nothing here ever shows the card number: a [`CardNumber`] has no `Display` and a
//! redacted `Debug`, and rejection messages never quote the line.

use zairyu::CardNumber;
use zairyu::error::InputError;
use zeroize::Zeroizing;

/// The longest input line taken, in bytes (without its line end). Longer lines are
/// rejected (`watch_bad_line`) and never buffered beyond this length.
pub const MAX_LINE: usize = 1024;

/// One parsed input line.
#[derive(Debug)]
pub struct Line {
    /// The insertion the line names; `None` for a plain line.
    pub insertion: Option<u64>,
    /// What to do with that insertion.
    pub action: Action,
}

/// What a line asks for its insertion.
#[derive(Debug)]
pub enum Action {
    /// Read the card with this number.
    Read(CardNumber),
    /// Do not read the card (an empty line, or an empty `card_number`).
    Skip,
    /// The number is not 12 letters and digits: the insertion's read fails with this.
    BadNumber(InputError),
}

impl Action {
    /// The action of a typed number: empty skips, anything else is parsed.
    fn of(typed: &str) -> Action {
        if typed.trim().is_empty() {
            return Action::Skip;
        }
        match CardNumber::parse(typed) {
            Ok(n) => Action::Read(n),
            Err(e) => Action::BadNumber(e),
        }
    }
}

/// Why a line was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not a line of the protocol; the text says what is wrong (never quoting the line).
    BadLine(&'static str),
    /// A plain line with no announced card waiting for its number.
    NoInsertion,
    /// Names an insertion that was not announced.
    UnknownInsertion,
    /// Names an insertion whose card is gone.
    InsertionGone,
    /// A second line for the same insertion.
    InsertionAnswered,
}

/// A line that was not used, and why; `watch` answers it with a `line_rejected` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The insertion concerned: the one the line names, or, for a plain line sent
    /// twice, the one it would have gone to.
    pub insertion: Option<u64>,
    /// Why.
    pub reason: Reason,
}

impl Rejection {
    /// A rejection of a line for `insertion`.
    pub fn new(insertion: Option<u64>, reason: Reason) -> Self {
        Rejection { insertion, reason }
    }

    /// The stable code (see the module documentation).
    pub fn code(&self) -> &'static str {
        match self.reason {
            Reason::BadLine(_) => "watch_bad_line",
            Reason::NoInsertion => "watch_no_insertion",
            Reason::UnknownInsertion => "watch_unknown_insertion",
            Reason::InsertionGone => "watch_insertion_gone",
            Reason::InsertionAnswered => "watch_insertion_answered",
        }
    }

    /// A message for people; it names the insertion, never the line's content.
    pub fn message(&self) -> String {
        let which = match self.insertion {
            Some(n) => format!("insertion {n}"),
            None => "the insertion".to_owned(),
        };
        match self.reason {
            Reason::BadLine(what) => format!("{what}; the line was not used"),
            Reason::NoInsertion => "no card is waiting for its number (a plain line is used only for the card \
                                    announced by card_inserted before the line arrived, while it is in the \
                                    reader); the line was not used"
                .to_owned(),
            Reason::UnknownInsertion => format!("{which} has not been announced; the line was not used"),
            Reason::InsertionGone => {
                format!("{which} is no longer in the reader (removed or replaced); the line was not used")
            }
            Reason::InsertionAnswered => format!("{which} already had its line; this one was not used"),
        }
    }
}

/// Parses one input line (without or with its line end; surrounding white space is
/// ignored). The card number goes straight into a [`CardNumber`]; the JSON string it
/// came in is wiped.
pub fn parse(bytes: &[u8]) -> Result<Line, Rejection> {
    let bad = |insertion, what| Err(Rejection::new(insertion, Reason::BadLine(what)));
    if bytes.len() > MAX_LINE {
        return bad(None, "the line is longer than 1024 bytes");
    }
    let Ok(text) = core::str::from_utf8(bytes) else {
        return bad(None, "the line is not UTF-8");
    };
    let text = text.trim();
    if !text.starts_with('{') {
        return Ok(Line { insertion: None, action: Action::of(text) });
    }
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str::<serde_json::Value>(text) else {
        return bad(None, "the line starts with '{' but is not a JSON object");
    };
    // The number first, so that it is wiped whatever else is wrong with the line.
    let number = match object.remove("card_number") {
        Some(serde_json::Value::String(s)) => Some(Zeroizing::new(s)),
        Some(_) => return bad(None, "\"card_number\" is not a string"),
        None => None,
    };
    let insertion = match object.remove("insertion") {
        Some(v) => match v.as_u64() {
            Some(n) => n,
            None => return bad(None, "\"insertion\" is not a non-negative integer"),
        },
        None => return bad(None, "the object has no \"insertion\""),
    };
    if !object.is_empty() {
        return bad(Some(insertion), "the object has fields other than \"insertion\" and \"card_number\"");
    }
    let Some(number) = number else {
        return bad(Some(insertion), "the object has no \"card_number\"");
    };
    Ok(Line { insertion: Some(insertion), action: Action::of(&number) })
}

/// The insertion being handled.
#[derive(Debug, Clone, Copy)]
struct Current<T> {
    id: u64,
    announced: T,
    answered: bool,
}

/// Which insertion a line may be used for. `T` is the clock lines and announcements
/// are stamped with (`std::time::Instant` in `watch`): a plain line is used only if it
/// arrived after its insertion was announced.
#[derive(Debug)]
pub struct Insertions<T> {
    last: u64,
    current: Option<Current<T>>,
}

impl<T: Ord + Copy> Default for Insertions<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Ord + Copy> Insertions<T> {
    /// No insertion yet.
    pub const fn new() -> Self {
        Insertions { last: 0, current: None }
    }

    /// A card arrived and is announced at `announced` (stamp it before the
    /// announcement is written, as an answer may arrive at once): its new id (one more
    /// than the last). A card still current is ended first.
    pub fn insert(&mut self, announced: T) -> u64 {
        self.last = self.last.saturating_add(1);
        self.current = Some(Current { id: self.last, announced, answered: false });
        self.last
    }

    /// The current card left: its id, if there was one.
    pub fn remove(&mut self) -> Option<u64> {
        self.current.take().map(|c| c.id)
    }

    /// The id of the card in the reader, if any.
    pub fn current(&self) -> Option<u64> {
        self.current.map(|c| c.id)
    }

    /// The id of the card in the reader if it still waits for its line.
    pub fn awaiting(&self) -> Option<u64> {
        self.current.filter(|c| !c.answered).map(|c| c.id)
    }

    /// Decides whether a line naming `insertion` (`None`: a plain line), which arrived
    /// at `received`, is used: `Ok(id)` marks insertion `id` answered; a rejection
    /// changes nothing.
    pub fn accept(&mut self, insertion: Option<u64>, received: T) -> Result<u64, Rejection> {
        let reject = |reason| Err(Rejection::new(insertion, reason));
        let Some(current) = self.current.as_mut() else {
            return match insertion {
                None => reject(Reason::NoInsertion),
                Some(n) if n == 0 || n > self.last => reject(Reason::UnknownInsertion),
                Some(_) => reject(Reason::InsertionGone),
            };
        };
        match insertion {
            Some(n) if n == 0 || n > self.last => return reject(Reason::UnknownInsertion),
            Some(n) if n != current.id => return reject(Reason::InsertionGone),
            // Sent before the announcement: it cannot be for this card.
            Some(_) if received < current.announced => return reject(Reason::UnknownInsertion),
            None if received < current.announced => return reject(Reason::NoInsertion),
            _ => {}
        }
        if current.answered {
            return Err(Rejection::new(Some(current.id), Reason::InsertionAnswered));
        }
        current.answered = true;
        Ok(current.id)
    }

    /// [`parse`]s `bytes` and [`accept`](Self::accept)s the line: the insertion it is
    /// used for and what to do, or why it is not used.
    pub fn take(&mut self, bytes: &[u8], received: T) -> Result<(u64, Action), Rejection> {
        let line = parse(bytes)?;
        let id = self.accept(line.insertion, received)?;
        Ok((id, line.action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NUMBER: &str = "AB12345678CD";

    fn read(line: &[u8]) -> (Option<u64>, Vec<u8>) {
        match parse(line) {
            Ok(Line { insertion, action: Action::Read(n) }) => (insertion, n.expose().to_vec()),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
        }
    }

    fn rejected(line: &[u8]) -> Rejection {
        parse(line).expect_err("rejected")
    }

    #[test]
    fn plain_and_tagged_lines() {
        assert_eq!(read(b"AB12345678CD\n"), (None, NUMBER.as_bytes().to_vec()));
        assert_eq!(read(b"  ab12345678cd\r\n"), (None, NUMBER.as_bytes().to_vec()));
        assert_eq!(read(br#"{"insertion": 7, "card_number": "AB12345678CD"}"#), (Some(7), NUMBER.as_bytes().to_vec()));
        assert_eq!(read(br#" {"card_number":"ab12345678cd","insertion":12} "#), (Some(12), NUMBER.as_bytes().to_vec()));
        assert!(matches!(parse(b"\n"), Ok(Line { insertion: None, action: Action::Skip })));
        assert!(matches!(parse(b""), Ok(Line { insertion: None, action: Action::Skip })));
        assert!(matches!(
            parse(br#"{"insertion": 3, "card_number": " "}"#),
            Ok(Line { insertion: Some(3), action: Action::Skip })
        ));
        assert!(matches!(
            parse(b"AB123"),
            Ok(Line { insertion: None, action: Action::BadNumber(InputError::BadCardNumber { len: 5 }) })
        ));
        assert!(matches!(
            parse(br#"{"insertion": 3, "card_number": "AB123"}"#),
            Ok(Line { insertion: Some(3), action: Action::BadNumber(_) })
        ));
    }

    #[test]
    fn malformed_lines_are_bad_lines_that_never_quote_the_line() {
        let long = vec![b'A'; MAX_LINE + 1];
        let cases: [&[u8]; 12] = [
            b"\xffAB12345678CD",
            &long,
            b"{",
            br#"{"insertion": 7, "card_number": "AB12345678CD""#,
            br#"{"insertion": "7", "card_number": "AB12345678CD"}"#,
            br#"{"insertion": -1, "card_number": "AB12345678CD"}"#,
            br#"{"insertion": 1.5, "card_number": "AB12345678CD"}"#,
            br#"{"card_number": "AB12345678CD"}"#,
            br#"{"insertion": 7}"#,
            br#"{"insertion": 7, "card_number": 1234}"#,
            br#"{"insertion": 7, "card_number": "AB12345678CD", "AB12345678CD": 1}"#,
            br#"{"insertion": "AB12345678CD", "card_number": "AB12345678CD"}"#,
        ];
        for line in cases {
            let r = rejected(line);
            assert_eq!(r.code(), "watch_bad_line", "{:?}", String::from_utf8_lossy(line));
            assert!(!r.message().contains(NUMBER), "{}", r.message());
            assert!(!format!("{r:?}").contains(NUMBER));
        }
        assert_eq!(rejected(br#"{"insertion": 7}"#).insertion, Some(7));
        // A line of exactly MAX_LINE bytes is still read.
        let mut line = vec![b' '; MAX_LINE - NUMBER.len()];
        line.extend_from_slice(NUMBER.as_bytes());
        assert_eq!(read(&line).1, NUMBER.as_bytes());
    }

    #[test]
    fn a_plain_line_goes_to_the_announced_card_waiting_for_its_number() {
        let mut ins = Insertions::new();
        // Before any insertion.
        assert_eq!(ins.accept(None, 1).unwrap_err().reason, Reason::NoInsertion);
        assert_eq!(ins.insert(5), 1);
        // Sent before the card was announced: not for it.
        assert_eq!(ins.accept(None, 4).unwrap_err().reason, Reason::NoInsertion);
        assert_eq!(ins.awaiting(), Some(1));
        assert_eq!(ins.accept(None, 5), Ok(1));
        assert_eq!(ins.awaiting(), None);
        assert_eq!(ins.current(), Some(1));
        // Sent twice.
        let twice = ins.accept(None, 6).unwrap_err();
        assert_eq!(
            (twice.reason, twice.insertion, twice.code()),
            (Reason::InsertionAnswered, Some(1), "watch_insertion_answered")
        );
        assert_eq!(ins.remove(), Some(1));
        assert_eq!(ins.remove(), None);
        // After removal.
        assert_eq!(ins.accept(None, 7).unwrap_err().code(), "watch_no_insertion");
        assert_eq!(ins.insert(8), 2);
        assert_eq!(ins.accept(None, 9), Ok(2));
    }

    #[test]
    fn a_tagged_line_goes_to_its_insertion_only_once() {
        let mut ins = Insertions::new();
        for n in [0, 1, 2] {
            assert_eq!(ins.accept(Some(n), 0).unwrap_err().code(), "watch_unknown_insertion", "{n}");
        }
        assert_eq!(ins.insert(10), 1);
        assert_eq!(ins.accept(Some(2), 11).unwrap_err().code(), "watch_unknown_insertion");
        assert_eq!(ins.accept(Some(0), 11).unwrap_err().code(), "watch_unknown_insertion");
        // Arrived before the announcement: the sender cannot have known the id.
        assert_eq!(ins.accept(Some(1), 9).unwrap_err().code(), "watch_unknown_insertion");
        assert_eq!(ins.accept(Some(1), 11), Ok(1));
        let dup = ins.accept(Some(1), 12).unwrap_err();
        assert_eq!((dup.code(), dup.insertion), ("watch_insertion_answered", Some(1)));
        assert!(dup.message().contains("insertion 1"), "{}", dup.message());
        ins.remove();
        assert_eq!(ins.accept(Some(1), 13).unwrap_err().code(), "watch_insertion_gone");
        assert_eq!(ins.insert(14), 2);
        // A line for the card that left is never used for the next one.
        let gone = ins.accept(Some(1), 15).unwrap_err();
        assert_eq!((gone.code(), gone.insertion), ("watch_insertion_gone", Some(1)));
        assert_eq!(ins.awaiting(), Some(2));
        assert_eq!(ins.accept(Some(2), 15), Ok(2));
    }

    #[test]
    fn take_parses_then_accepts() {
        let mut ins = Insertions::new();
        assert_eq!(ins.take(b"AB12345678CD", 0).unwrap_err().code(), "watch_no_insertion");
        ins.insert(1);
        // A bad line does not use up the insertion.
        assert_eq!(ins.take(b"{oops", 2).unwrap_err().code(), "watch_bad_line");
        match ins.take(br#"{"insertion":1,"card_number":"AB12345678CD"}"#, 2) {
            Ok((1, Action::Read(n))) => assert_eq!(n.expose(), NUMBER.as_bytes()),
            other => panic!("{other:?}"),
        }
        assert!(!format!("{:?}", ins.take(b"AB12345678CD", 3)).contains(NUMBER));
    }
}
