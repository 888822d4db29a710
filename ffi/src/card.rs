//! `zairyu_card`: a transport (PC/SC reader, in-process simulator or the host's
//! transmit callback) and the read of a card on it.

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use zairyu_core::CardNumber;
use zairyu_core::Error;
use zairyu_core::auth::OsRandom;
use zairyu_core::error::TransportError;
use zairyu_core::files::CardType;
use zairyu_core::sequence::{ReadOptions, ReadPolicy, read_card};
use zairyu_core::session::Card;
use zairyu_core::transport::{Limits, Transport};
use zairyu_sim::write_pki::WritePki;
use zairyu_sim::{Fault, IssueOptions, IssuedCard, SimCard, SimPki};
use zeroize::{Zeroize, Zeroizing};

use crate::read_result::zairyu_read_result;
use crate::result::zairyu_result;
use crate::trust::{store_arg, zairyu_trust_store};
use crate::util::{CEnum, Failure, bytes_arg, c_enum, copy_out, guard, non_null, non_null_mut, str_arg, write_out};

/// Read policy (the `policy` argument of `zairyu_card_read`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zairyu_read_policy {
    /// Read every file and verify the signature.
    Full = 0,
    /// The privacy option: text entries only; no face, name, card-face or address
    /// image and no signature file (the signature is then `NOT_CHECKED`).
    TextOnly = 1,
}

c_enum!(zairyu_read_policy, "read policy", [Full, TextOnly]);

impl From<zairyu_read_policy> for ReadPolicy {
    fn from(p: zairyu_read_policy) -> Self {
        match p {
            zairyu_read_policy::Full => ReadPolicy::Full,
            zairyu_read_policy::TextOnly => ReadPolicy::TextOnly,
        }
    }
}

/// Simulator flag: an under-16 card (no face photo, no signature).
pub const ZAIRYU_SIM_UNDER_16: u32 = 1;
/// Simulator flag: alter a signed image after signing, so the signature is invalid.
pub const ZAIRYU_SIM_TAMPERED: u32 = 2;
/// Simulator flag: the link carries short APDUs only (the core then uses its fallbacks).
pub const ZAIRYU_SIM_SHORT_APDUS_ONLY: u32 = 4;
/// Simulator fault: secure-messaging responses carry bad padding (`ZAIRYU_RESULT_SM_BAD_PADDING`).
pub const ZAIRYU_SIM_FAULT_BAD_SM_PADDING: u32 = 8;
/// Simulator fault: the card's authentication MAC is wrong (`ZAIRYU_RESULT_AUTH_CARD_MAC_MISMATCH`).
pub const ZAIRYU_SIM_FAULT_BAD_CARD_MAC: u32 = 16;
/// Simulator fault: the card leaves the field after 6 APDUs (`ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED`).
pub const ZAIRYU_SIM_FAULT_REMOVE_CARD: u32 = 32;
/// Simulator flag: the card is signed by the simulator's *synthetic production* PKI
/// instead of its test PKI (`sim/fixtures/gen{1,2}-synthetic-production-ca.der`).
/// Those roots are pinned as production roots only in a test build of the library
/// (cargo feature `test-production-root`); in any release build
/// `zairyu_trust_store_load_production_dir` refuses them as unpinned, so such a card
/// is never `ZAIRYU_VERDICT_PRODUCTION` there.
pub const ZAIRYU_SIM_SYNTHETIC_PRODUCTION_PKI: u32 = 64;
/// Simulator flag: card text that could attack a terminal. The first generation's
/// address (DF2 `D4`) and the second generation's note (DF2 `DE`, with its flag set)
/// read `"東京都" NUL "千代田区" ESC "[2J" U+202E "霞が関" DEL "１"`: a NUL byte,
/// C0 controls, DEL and a bidirectional override. Such a field is refused by
/// `zairyu_read_result_field` (`ZAIRYU_RESULT_TEXT_CONTAINS_NUL`); its bytes come from
/// `zairyu_read_result_field_raw`, and the JSON report warns `unsafe_characters`.
pub const ZAIRYU_SIM_HOSTILE_TEXT: u32 = 128;
const SIM_FLAGS: u32 = 255;

/// The text of `ZAIRYU_SIM_HOSTILE_TEXT`.
const HOSTILE_TEXT: &str = "東京都\u{0}千代田区\u{1b}[2J\u{202E}霞が関\u{7f}１";

/// Callback-transport flag: the host's link carries extended-length APDUs
/// (Lc/Le of 3 bytes, responses up to 65,538 bytes). Without it the core uses its
/// short-APDU fallbacks, which the report names under `link.fallbacks`.
pub const ZAIRYU_TRANSPORT_EXTENDED_LENGTH: u32 = 1;

/// Size of the response buffer handed to a transmit callback (`resp_cap`): the
/// largest response APDU (65,536 data bytes and the status word).
pub const ZAIRYU_MAX_RESPONSE: usize = 65538;

/// A host transport: sends the command APDU `cmd` (`cmd_len` bytes) to the card
/// and writes the response APDU (data followed by SW1 SW2) into `resp`, which has
/// room for `resp_cap` (= `ZAIRYU_MAX_RESPONSE`) bytes, and its length into
/// `*resp_len`.
///
/// Return 0 on success. Any other value is a transport failure and ends the read:
/// return `ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED`, `..._CARD_RESET`,
/// `..._READER_UNAVAILABLE` or `..._SHARING_VIOLATION` to say which; any other
/// non-zero value is reported as `ZAIRYU_RESULT_TRANSPORT_OTHER`. A `*resp_len`
/// larger than `resp_cap` or smaller than 2 is `ZAIRYU_RESULT_TRANSPORT_OTHER` too.
///
/// Called only from inside `zairyu_card_read` and `zairyu_card_transmit` on the
/// card it was opened with, on the calling thread. `cmd` and `resp` are valid only
/// during the call. The callback must not call functions on that same card: they
/// return `ZAIRYU_RESULT_HANDLE_BUSY`, `zairyu_card_free` included (the card is not
/// freed). It may use other cards, and any trust store, the one being read with
/// included: no lock of the library is held while a callback runs.
pub type zairyu_transmit_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        cmd: *const u8,
        cmd_len: usize,
        resp: *mut u8,
        resp_cap: usize,
        resp_len: *mut usize,
    ) -> u32,
>;

type TransmitFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8, usize, *mut usize) -> u32;

/// The host's card reset, for a new card session (the re-read after
/// `zairyu_card_write_address`): reset the card (a power cycle, or a PC/SC reconnect
/// with `SCARD_RESET_CARD`) so that no authentication or secure-messaging state of
/// the session before it survives, and return 0; or return a transport result code
/// (`ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED` ...) as `zairyu_transmit_cb` does.
///
/// Called only from inside `zairyu_card_write_address`, on the calling thread, with
/// the `userdata` given at open. The same rules as for the transmit callback apply:
/// it must not call functions on its own card.
pub type zairyu_reset_cb = Option<unsafe extern "C" fn(userdata: *mut c_void) -> u32>;

type ResetFn = unsafe extern "C" fn(*mut c_void) -> u32;

/// The host's transport.
struct CallbackTransport {
    cb: TransmitFn,
    reset: Option<ResetFn>,
    userdata: *mut c_void,
    extended: bool,
    buf: Zeroizing<Vec<u8>>,
}

fn callback_error(rc: u32) -> TransportError {
    use zairyu_result as R;
    match zairyu_result::from_number(rc) {
        Some(R::TransportCardRemoved) => TransportError::CardRemoved,
        Some(R::TransportCardReset) => TransportError::CardReset,
        Some(R::TransportReaderUnavailable) => {
            TransportError::ReaderUnavailable("the transmit callback reported the reader unavailable".to_owned())
        }
        Some(R::TransportSharingViolation) => TransportError::SharingViolation,
        _ => TransportError::Other(format!("the transmit callback returned {rc}")),
    }
}

impl Transport for CallbackTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut len = 0usize;
        let cap = self.buf.len();
        // SAFETY: the host promised at open that `cb` is callable with `userdata`; the
        // command and response pointers are valid for the stated lengths during the call.
        let rc =
            unsafe { (self.cb)(self.userdata, command.as_ptr(), command.len(), self.buf.as_mut_ptr(), cap, &mut len) };
        if rc != 0 {
            return Err(callback_error(rc));
        }
        if !(2..=cap).contains(&len) {
            return Err(TransportError::Other(format!(
                "the transmit callback reported a response of {len} bytes (allowed: 2 to {cap})"
            )));
        }
        let resp = self.buf[..len].to_vec();
        self.buf[..len].zeroize();
        Ok(resp)
    }

    fn limits(&self) -> Limits {
        if self.extended {
            Limits::FULL
        } else {
            Limits { extended_length: false, max_command: 261, max_response: 258 }
        }
    }
}

/// A transport that can start a new card session: what `zairyu_card_write_address`
/// needs for its re-read, which must not ride on the session that wrote.
pub(crate) trait CardLink: Transport {
    /// Resets the card: the simulator power-cycles, PC/SC reconnects with a card
    /// reset, the callback transport calls the host's reset callback.
    fn new_session(&mut self) -> Result<(), TransportError>;

    /// Whether [`CardLink::new_session`] can work (checked before a write starts).
    fn can_reset(&self) -> bool {
        true
    }
}

impl CardLink for SimCard {
    fn new_session(&mut self) -> Result<(), TransportError> {
        self.power_cycle();
        Ok(())
    }
}

impl CardLink for CallbackTransport {
    fn new_session(&mut self) -> Result<(), TransportError> {
        let reset =
            self.reset.ok_or_else(|| TransportError::Other("no reset callback was given at open".to_owned()))?;
        // SAFETY: the host promised at open that `reset` is callable with `userdata`.
        match unsafe { reset(self.userdata) } {
            0 => Ok(()),
            rc => Err(callback_error(rc)),
        }
    }

    fn can_reset(&self) -> bool {
        self.reset.is_some()
    }
}

/// A card on a transport (opaque). Made by `zairyu_card_open_pcsc`,
/// `zairyu_card_open_simulator` or `zairyu_card_open_callback`; freed by
/// `zairyu_card_free`. One call at a time: a call made while another call on the
/// same card is running (from another thread, or from its own transmit callback)
/// returns `ZAIRYU_RESULT_HANDLE_BUSY`. A card may be used from different threads
/// one after another.
pub struct zairyu_card {
    busy: AtomicBool,
    transport: UnsafeCell<Box<dyn CardLink>>,
}

/// Exclusive use of a card's transport while held.
pub(crate) struct InUse<'a> {
    card: &'a zairyu_card,
}

impl InUse<'_> {
    pub(crate) fn transport(&mut self) -> &mut dyn CardLink {
        // SAFETY: `busy` was taken by `zairyu_card::take` (compare-exchange), so this
        // is the only live reference to the transport until the guard drops.
        unsafe { &mut **self.card.transport.get() }
    }
}

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        self.card.busy.store(false, Ordering::Release);
    }
}

impl zairyu_card {
    fn new(transport: Box<dyn CardLink>) -> Box<Self> {
        Box::new(zairyu_card { busy: AtomicBool::new(false), transport: UnsafeCell::new(transport) })
    }

    pub(crate) fn take(&self) -> Result<InUse<'_>, Failure> {
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map(|_| InUse { card: self })
            .map_err(|_| Failure::new(zairyu_result::HandleBusy, "the card is in use by another call"))
    }
}

/// Borrows a card argument (shared: exclusive use goes through `take`).
///
/// # Safety
/// `p` is NULL or a live pointer from one of the `zairyu_card_open_*` functions.
pub(crate) unsafe fn card_arg<'a>(p: *const zairyu_card) -> Result<&'a zairyu_card, Failure> {
    let p = non_null(p, "card")?;
    // SAFETY: non-NULL and live by the caller's contract; only shared references are
    // made from it, and the transport is reached through the busy flag.
    Ok(unsafe { &*p })
}

fn publish(out: *mut *mut zairyu_card, transport: Box<dyn CardLink>) {
    let card = Box::into_raw(zairyu_card::new(transport));
    // SAFETY: every caller checked `out` for NULL; it is writable by the header's contract.
    unsafe { write_out(out, card) };
}

/// Opens the card in a PC/SC reader (user-scope context, shared mode, T=1
/// preferred) and begins a PC/SC transaction that is held until `zairyu_card_free`,
/// which ends it and resets the card.
///
/// Errors: `ZAIRYU_RESULT_TRANSPORT_NO_SUCH_READER` for an unknown name,
/// `ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED` for an empty reader,
/// `ZAIRYU_RESULT_TRANSPORT_READER_UNAVAILABLE` without a PC/SC service,
/// `ZAIRYU_RESULT_NOT_BUILT_WITH_PCSC` in a build without PC/SC.
///
/// Ownership: on success `*out` receives a card the caller owns (free it with
/// `zairyu_card_free`). Thread safety: may be called from any thread.
///
/// @param reader NUL-terminated UTF-8 reader name, as `zairyu_reader_list_name` gives it; must not be NULL.
/// @param out receives the card; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_card_open_pcsc(reader: *const c_char, out: *mut *mut zairyu_card) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let reader = unsafe { str_arg(reader, "reader") }?;
        let out = non_null_mut(out, "out")?;
        publish(out, open_pcsc(reader)?);
        Ok(())
    })
}

#[cfg(feature = "pcsc")]
impl CardLink for zairyu_pcsc::PcscCard {
    /// Reconnects resetting the card (`SCardReconnect` with `SCARD_RESET_CARD`) and
    /// begins a new transaction: nothing of the old session survives.
    fn new_session(&mut self) -> Result<(), TransportError> {
        self.reset_session()
    }
}

#[cfg(feature = "pcsc")]
fn open_pcsc(reader: &str) -> Result<Box<dyn CardLink>, Failure> {
    // A context of its own (not zairyu-pcsc's process-wide one): the card keeps it,
    // and freeing the card releases it, so nothing of pcsc-lite outlives the handles.
    let mut ctx = zairyu_pcsc::PcscContext::new();
    Ok(Box::new(ctx.connect(reader)?))
}

#[cfg(not(feature = "pcsc"))]
fn open_pcsc(_reader: &str) -> Result<Box<dyn CardLink>, Failure> {
    Err(crate::readers::not_built())
}

/// Opens a card on the in-process simulator: a synthetic card personalised with the
/// simulator's test PKI (trusted only after `zairyu_trust_store_add_simulator_test_anchors`).
///
/// Ownership: on success `*out` receives a card the caller owns (free it with
/// `zairyu_card_free`). Thread safety: may be called from any thread.
///
/// @param card_type NUL-terminated card type: "1" (在留カード), "2" (特別永住者証明書),
///        "05" or "06" (second generation; also "5", "6"), parsed as the CLI and Python
///        parse it; must not be NULL. Another value, or "07"/"08" (not simulated), is
///        `ZAIRYU_RESULT_INVALID_ARGUMENT`.
/// @param card_number the simulated card's number (12 letters or digits), or NULL for "AB12345678CD".
/// @param flags zero or more `ZAIRYU_SIM_*` values or-ed together; unknown bits are
///        `ZAIRYU_RESULT_INVALID_ARGUMENT`.
/// @param out receives the card; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_card_open_simulator(
    card_type: *const c_char,
    card_number: *const c_char,
    flags: u32,
    out: *mut *mut zairyu_card,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let card_type = unsafe { str_arg(card_type, "card_type") }?;
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let card_number = unsafe { opt_str_arg(card_number, "card_number") }?;
        let out = non_null_mut(out, "out")?;
        publish(out, Box::new(open_sim(card_type, card_number, flags, None)?));
        Ok(())
    })
}

/// Opens a card on the in-process simulator, as `zairyu_card_open_simulator`, that
/// also carries the address-write application (AWP v1) trusting the test write PKI
/// in `write_pki_dir` (made by `zairyu_sim_write_pki_generate` or `zairyu pki init`):
/// its write CVCA, its document signer for EF.ChipAuthInfo, and the card date of the
/// CVCA's effective date. Such a card can be written by `zairyu_card_write_address`
/// with an authority of the same PKI.
///
/// Errors: `ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED` if the directory does not hold a
/// readable, consistent test write PKI; otherwise as `zairyu_card_open_simulator`.
///
/// Ownership: on success `*out` receives a card the caller owns (free it with
/// `zairyu_card_free`). Thread safety: may be called from any thread.
///
/// @param card_type as for `zairyu_card_open_simulator`; must not be NULL.
/// @param card_number the simulated card's number, or NULL for "AB12345678CD".
/// @param write_pki_dir NUL-terminated UTF-8 path of the write-PKI directory; must not be NULL.
/// @param flags as for `zairyu_card_open_simulator`.
/// @param out receives the card; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_card_open_simulator_write(
    card_type: *const c_char,
    card_number: *const c_char,
    write_pki_dir: *const c_char,
    flags: u32,
    out: *mut *mut zairyu_card,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let card_type = unsafe { str_arg(card_type, "card_type") }?;
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let card_number = unsafe { opt_str_arg(card_number, "card_number") }?;
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let dir = unsafe { str_arg(write_pki_dir, "write_pki_dir") }?;
        let out = non_null_mut(out, "out")?;
        publish(out, Box::new(open_sim(card_type, card_number, flags, Some(Path::new(dir)))?));
        Ok(())
    })
}

/// Makes a throw-away TEST write PKI (AWP v1) in `dir`, as `zairyu pki init --out
/// DIR` does: the write CVCA, a DV, the terminal key and certificate with the write
/// right, the write-issuer root and the document signer of EF.ChipAuthInfo, valid
/// from today. The directory is created if needed; existing PKI files are never
/// overwritten (`ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED`). For the simulator and tests
/// only: these keys are unencrypted and never for a real card.
///
/// With a `policy.toml` added (which counters may write for which municipality
/// codes), the directory is an authority directory for `zairyu_authority_open_dir`.
///
/// Thread safety: any thread.
///
/// @param dir NUL-terminated UTF-8 path; must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_sim_write_pki_generate(dir: *const c_char) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let dir = unsafe { str_arg(dir, "dir") }?;
        WritePki::generate(Path::new(dir))
            .map(drop)
            .map_err(|e| Failure::new(zairyu_result::AuthoritySetupFailed, format!("test write PKI: {e}")))
    })
}

/// Borrows an optional card-number argument (NULL: the simulator's default number).
///
/// # Safety
/// As [`str_arg`].
unsafe fn opt_str_arg<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: this function's contract.
    unsafe { str_arg(p, what) }.map(Some)
}

/// Issues a simulated card; with `write_pki`, with the write application trusting it.
fn open_sim(
    card_type: &str,
    card_number: Option<&str>,
    flags: u32,
    write_pki: Option<&Path>,
) -> Result<SimCard, Failure> {
    let card_number = card_number.unwrap_or("AB12345678CD");
    if flags & !SIM_FLAGS != 0 {
        return Err(Failure::invalid(format!("unknown simulator flags {:#x}", flags & !SIM_FLAGS)));
    }
    // The core's one parser of card types; a bad value stays INVALID_ARGUMENT here
    // (as in 0.1.0) rather than the core's input_bad_option.
    let card_type: CardType = card_type.parse().map_err(|e: Error| Failure::invalid(e.to_string()))?;
    // The simulated number is validated like a typed one (never echoed).
    CardNumber::parse(card_number).map_err(Error::from)?;
    let write = write_pki
        .map(|dir| {
            WritePki::load(dir)
                .map(|p| p.write_issue())
                .map_err(|e| Failure::new(zairyu_result::AuthoritySetupFailed, format!("test write PKI: {e}")))
        })
        .transpose()?;
    let mut opts = IssueOptions {
        card_type,
        card_number: card_number.trim().to_ascii_uppercase(),
        under_16: flags & ZAIRYU_SIM_UNDER_16 != 0,
        tamper_front_image: flags & ZAIRYU_SIM_TAMPERED != 0,
        write,
        ..IssueOptions::default()
    };
    if flags & ZAIRYU_SIM_SYNTHETIC_PRODUCTION_PKI != 0 {
        opts.pki = SimPki::SyntheticProduction;
    }
    if flags & ZAIRYU_SIM_HOSTILE_TEXT != 0 {
        if let Some(address) = opts.address.as_mut() {
            address.text = HOSTILE_TEXT.to_owned();
        }
        opts.gen2_note_flag = true;
        opts.gen2_note_text = Some(HOSTILE_TEXT.to_owned());
    }
    let issued = IssuedCard::try_issue(&opts).map_err(|e| Failure::invalid(format!("simulated card: {e}")))?;
    let mut sim = SimCard::new(issued);
    for (bit, fault) in [
        (ZAIRYU_SIM_SHORT_APDUS_ONLY, Fault::ShortApdusOnly),
        (ZAIRYU_SIM_FAULT_BAD_SM_PADDING, Fault::BadSmPadding),
        (ZAIRYU_SIM_FAULT_BAD_CARD_MAC, Fault::CorruptMacIcc),
        (ZAIRYU_SIM_FAULT_REMOVE_CARD, Fault::RemoveCardAfter(6)),
    ] {
        if flags & bit != 0 {
            sim = sim.with_fault(fault);
        }
    }
    Ok(sim)
}

/// Opens a card on the host's own transport (an NFC stack, a remote reader): every
/// command APDU goes through `cb`.
///
/// Ownership: `userdata` stays the caller's; it must remain valid until the card is
/// freed, and the library never frees it. On success `*out` receives a card the
/// caller owns (free it with `zairyu_card_free`). Thread safety: may be called from
/// any thread; the callback runs on whichever thread calls `zairyu_card_read` or
/// `zairyu_card_transmit`.
///
/// @param cb the transmit callback; must not be NULL.
/// @param userdata passed to every call of `cb`; may be NULL.
/// @param flags `ZAIRYU_TRANSPORT_EXTENDED_LENGTH` if the link carries extended APDUs, else 0.
/// @param out receives the card; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_card_open_callback(
    cb: zairyu_transmit_cb,
    userdata: *mut c_void,
    flags: u32,
    out: *mut *mut zairyu_card,
) -> zairyu_result {
    guard(|| open_callback(cb, None, userdata, flags, out))
}

/// Opens a card on the host's own transport, as `zairyu_card_open_callback`, with a
/// reset callback as well: `zairyu_card_write_address` calls it once, after the
/// write, to start the new card session of its re-read. A card opened without one
/// (`zairyu_card_open_callback`, or `reset` NULL here) reads as before, and a write
/// on it is refused with `ZAIRYU_RESULT_INVALID_ARGUMENT` before any APDU is sent.
///
/// Ownership and thread safety: as `zairyu_card_open_callback`.
///
/// @param cb the transmit callback; must not be NULL.
/// @param reset the reset callback, or NULL.
/// @param userdata passed to every call of `cb` and `reset`; may be NULL.
/// @param flags `ZAIRYU_TRANSPORT_EXTENDED_LENGTH` if the link carries extended APDUs, else 0.
/// @param out receives the card; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_card_open_callback_with_reset(
    cb: zairyu_transmit_cb,
    reset: zairyu_reset_cb,
    userdata: *mut c_void,
    flags: u32,
    out: *mut *mut zairyu_card,
) -> zairyu_result {
    guard(|| open_callback(cb, reset, userdata, flags, out))
}

fn open_callback(
    cb: zairyu_transmit_cb,
    reset: zairyu_reset_cb,
    userdata: *mut c_void,
    flags: u32,
    out: *mut *mut zairyu_card,
) -> Result<(), Failure> {
    let cb = cb.ok_or_else(|| Failure::null("cb"))?;
    let out = non_null_mut(out, "out")?;
    if flags & !ZAIRYU_TRANSPORT_EXTENDED_LENGTH != 0 {
        return Err(Failure::invalid(format!("unknown transport flags {flags:#x}")));
    }
    let extended = flags & ZAIRYU_TRANSPORT_EXTENDED_LENGTH != 0;
    let buf = Zeroizing::new(vec![0u8; ZAIRYU_MAX_RESPONSE]);
    publish(out, Box::new(CallbackTransport { cb, reset, userdata, extended, buf }));
    Ok(())
}

/// Frees a card (for PC/SC: ends the transaction and disconnects, resetting the
/// card). NULL is accepted and ignored (`ZAIRYU_RESULT_OK`).
///
/// A card that is in a call (a read or transmit running on another thread, or the
/// card's own transmit callback calling this) is **not** freed: the result is
/// `ZAIRYU_RESULT_HANDLE_BUSY` and the handle stays valid; free it once that call
/// has returned.
///
/// Ownership: on `ZAIRYU_RESULT_OK` takes back the handle; it must not be used
/// afterwards. Read results made from it stay valid.
///
/// @param card the card, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_card_free(card: *mut zairyu_card) -> zairyu_result {
    guard(|| {
        if card.is_null() {
            return Ok(());
        }
        // SAFETY: header contract: a live card handle.
        let shared = unsafe { card_arg(card) }?;
        // Taken for good: a call that starts from now on gets HANDLE_BUSY until the
        // handle is gone (and using a freed handle is the caller's error).
        std::mem::forget(shared.take()?);
        // SAFETY: a non-NULL pointer here came from Box::into_raw in `publish`; no
        // call is running on it (the busy flag was free and is now held), and it is
        // freed once (caller's contract).
        drop(unsafe { Box::from_raw(card) });
        Ok(())
    })
}

/// Reads and verifies the card: SELECT, mutual authentication with the card number
/// (first generation: 3DES; second generation: AES; chosen from the card type),
/// every file the policy asks for, parsing, and verification of the signature and
/// the certificate chain against `trust`.
///
/// A signature that does not verify is **not** an error: the read succeeds and
/// `zairyu_read_result_signature` says `ZAIRYU_SIGNATURE_STATUS_INVALID`. A wrong
/// card number is `ZAIRYU_RESULT_WRONG_CARD_NUMBER` (first generation: the card
/// answers `63 00`; real cards count failed attempts).
///
/// The card number is used for this call only and never appears in any message,
/// report or log; the report carries it redacted (`AB********CD`).
///
/// Ownership: on success `*out` receives a read result the caller owns (free it
/// with `zairyu_read_result_free`); it does not refer to the card or the store.
/// Thread safety: one call at a time per card (`ZAIRYU_RESULT_HANDLE_BUSY`
/// otherwise); the trust store may be shared by reads on other threads.
///
/// @param card the card; must not be NULL.
/// @param trust the trust anchors; must not be NULL (an empty store makes every chain `NO_MATCHING_ANCHOR`).
/// @param card_number NUL-terminated 在留カード等番号, 12 ASCII letters or digits (surrounding white space is ignored, case is not significant); must not be NULL.
/// @param policy a `zairyu_read_policy` value.
/// @param out receives the result; must not be NULL; written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_card_read(
    card: *mut zairyu_card,
    trust: *const zairyu_trust_store,
    card_number: *const c_char,
    policy: u32,
    out: *mut *mut zairyu_read_result,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live card handle.
        let card = unsafe { card_arg(card) }?;
        // SAFETY: header contract: a live trust store handle.
        let trust = unsafe { store_arg(trust) }?;
        // SAFETY: header contract: NULL or a NUL-terminated string.
        let typed = unsafe { str_arg(card_number, "card_number") }?;
        let out = non_null_mut(out, "out")?;
        let policy = ReadPolicy::from(zairyu_read_policy::arg(policy)?);
        let number = CardNumber::parse(typed).map_err(Error::from)?;
        let opts = ReadOptions { policy, ..ReadOptions::default() };
        let read = {
            let mut in_use = card.take()?;
            // A copy of the anchors for this read: the store's lock is released before
            // the first APDU, so a transmit callback may use the store.
            let trust = trust.snapshot();
            crate::test_hooks::checkpoint();
            // A fresh session per read: metrics and link report are this read's.
            let mut session = Card::new(in_use.transport());
            read_card(&mut session, &number, &trust, &mut OsRandom, &opts)?
        };
        let result = Box::into_raw(Box::new(zairyu_read_result::new(read)));
        // SAFETY: out is non-NULL and writable (header contract).
        unsafe { write_out(out, result) };
        Ok(())
    })
}

/// Sends one raw command APDU to the card and copies the response APDU (data and
/// SW1 SW2) into `resp`: a diagnostic, and the way to chain a transmit callback to
/// another card (e.g. a callback that forwards to a simulator card in tests). The
/// signature is that of `zairyu_transmit_cb`.
///
/// If `resp_cap` is too small the response is lost, `*resp_len` receives its size
/// and the result is `ZAIRYU_RESULT_BUFFER_TOO_SMALL`: use a buffer of
/// `ZAIRYU_MAX_RESPONSE` bytes.
///
/// Thread safety: one call at a time per card (`ZAIRYU_RESULT_HANDLE_BUSY` otherwise).
///
/// @param card the card; must not be NULL.
/// @param cmd the command APDU; must not be NULL.
/// @param cmd_len its length (4 or more).
/// @param resp receives the response; may be NULL only if resp_cap is 0.
/// @param resp_cap its capacity in bytes.
/// @param resp_len receives the response length; must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zairyu_card_transmit(
    card: *mut zairyu_card,
    cmd: *const u8,
    cmd_len: usize,
    resp: *mut u8,
    resp_cap: usize,
    resp_len: *mut usize,
) -> zairyu_result {
    guard(|| {
        // SAFETY: header contract: a live card handle.
        let card = unsafe { card_arg(card) }?;
        let _ = non_null(cmd, "cmd")?;
        // SAFETY: header contract: cmd_len readable bytes at cmd.
        let cmd = unsafe { bytes_arg(cmd, cmd_len, "cmd") }?;
        let _ = non_null_mut(resp_len, "resp_len")?;
        if cmd.len() < 4 {
            return Err(Failure::invalid(format!("a command APDU has at least 4 bytes, got {}", cmd.len())));
        }
        let answer = Zeroizing::new(card.take()?.transport().transmit(cmd)?);
        // SAFETY: header contract: resp_cap writable bytes at resp, resp_len writable.
        unsafe { copy_out(&answer, false, resp, resp_cap, resp_len) }
    })
}
