//! Helpers shared by the end-to-end tests.

use zairyu::auth::OsRandom;
use zairyu::error::TransportError;
use zairyu::sequence::{CardRead, ReadOptions, read_card};
use zairyu::session::Card;
use zairyu::transport::{Limits, Transport};
use zairyu::verify::TrustStore;
use zairyu::{CardNumber, Error};
use zairyu_sim::{IssueOptions, IssuedCard, SimCard};

/// A trust store holding the simulator's test CAs (both generations) as test anchors.
pub fn sim_trust() -> TrustStore {
    let mut t = TrustStore::new();
    zairyu_sim::add_test_anchors(&mut t);
    t
}

/// Issues a card and reads it with `typed` as the card number.
pub fn read_with(card: SimCard, typed: &str, trust: &TrustStore) -> (Result<CardRead, Error>, Card<SimCard>) {
    let number = CardNumber::parse(typed).unwrap();
    let mut c = Card::new(card);
    let r = read_card(&mut c, &number, trust, &mut OsRandom, &ReadOptions::default());
    (r, c)
}

/// Issues a card with `opts` and reads it with its own number.
pub fn issue_and_read(opts: &IssueOptions) -> Result<CardRead, Error> {
    let card = SimCard::new(IssuedCard::issue(opts));
    read_with(card, &opts.card_number, &sim_trust()).0
}

/// A transport that rewrites responses: `f(command, response) -> response`.
pub struct Rewrite<T, F> {
    /// The wrapped transport.
    pub inner: T,
    /// The rewrite.
    pub f: F,
}

impl<T: Transport, F: FnMut(&[u8], Vec<u8>) -> Vec<u8>> Transport for Rewrite<T, F> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let r = self.inner.transmit(command)?;
        Ok((self.f)(command, r))
    }
    fn limits(&self) -> Limits {
        self.inner.limits()
    }
}
