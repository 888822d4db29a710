/*
 * read_card: read and verify a residence card with the zairyu C library.
 *
 *   read_card [--reader NAME | --sim-production-pki | --sim-hostile-text] [--trust-dir DIR] [--sim-test-ca]
 *             CARD_NUMBER
 *
 * Without --reader it reads a card of the in-process simulator (type 1, number
 * AB12345678CD, trusting the simulator's test CA); --sim-production-pki makes that
 * card one signed by the simulator's synthetic production PKI (production-valid only
 * with a test build of the library and its roots in --trust-dir), and
 * --sim-hostile-text one whose address holds a NUL byte, control characters and a
 * bidirectional override (ZAIRYU_SIM_HOSTILE_TEXT). With --reader it
 * reads the card in that PC/SC reader, trusting the Ministry roots in --trust-dir
 * and, with --sim-test-ca, the simulator's test CA (for a simulated card served on
 * vpcd).
 *
 * Build (see the README, "C library"):
 *   cc read_card.c $(pkg-config --cflags --libs zairyu) -o read_card
 *
 * Exit status, from the verdict (zairyu_read_result_verdict), as the CLI's
 * (cli/src/exit.rs): 0 only for a genuine card (ZAIRYU_VERDICT_PRODUCTION: signature
 * valid, chained to a pinned Ministry root), 12 valid under a TEST anchor (the
 * simulator, sample cards: not genuine), 10 signature invalid, 11 signature
 * absent/not checked or no trusted anchor; 1 the read failed, 2 usage, 7 a file in
 * --trust-dir is not a pinned Ministry root (or cannot be read).
 *
 * Card text is shown escaped (control and bidirectional characters as \xHH or
 * \u{HHHH}): it is data from a chip, and may hold a NUL byte, which is why the text is
 * taken with zairyu_read_result_field_raw (bytes and length), not as a C string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zairyu.h"

static void fail(const char *what, zairyu_result rc) {
  char detail[512] = "";
  size_t n = 0;
  zairyu_last_error_message(detail, sizeof detail, &n);
  fprintf(stderr, "%s failed: %s (%u)\n  %s\n", what, zairyu_result_name(rc), (unsigned)rc, detail);
}

/* Prints UTF-8 card text with everything that could act on a terminal escaped: C0
   controls (NUL included), DEL, C1 controls (U+0080-U+009F) and the bidirectional
   embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069). */
static void print_escaped(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c < 0x20 || c == 0x7F) {
      printf("\\x%02X", c);
    } else if (c == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) {
      printf("\\u{%04X}", s[i + 1]);
      i++;
    } else if (c == 0xE2 && i + 2 < n &&
               ((s[i + 1] == 0x80 && s[i + 2] >= 0xAA && s[i + 2] <= 0xAE) ||
                (s[i + 1] == 0x81 && s[i + 2] >= 0xA6 && s[i + 2] <= 0xA9))) {
      printf("\\u{%04X}", 0x2000 + ((s[i + 1] & 0x3F) << 6) + (s[i + 2] & 0x3F));
      i += 2;
    } else {
      putchar(c);
    }
  }
}

/* Prints one text field if the card has it. Card text may hold a NUL byte, which
   zairyu_read_result_field refuses (ZAIRYU_RESULT_TEXT_CONTAINS_NUL): the bytes and
   their length come from zairyu_read_result_field_raw. */
static void print_field(const zairyu_read_result *r, const char *label, uint32_t field) {
  uint8_t buf[1024];
  size_t n = 0;
  if (zairyu_read_result_field_raw(r, field, buf, sizeof buf, &n) != ZAIRYU_RESULT_OK) return;
  printf("%-20s ", label);
  print_escaped(buf, n);
  putchar('\n');
}

static const char *signature_name(zairyu_signature_status s) {
  switch (s) {
    case ZAIRYU_SIGNATURE_STATUS_VALID: return "valid";
    case ZAIRYU_SIGNATURE_STATUS_INVALID: return "INVALID (possible forgery or alteration)";
    case ZAIRYU_SIGNATURE_STATUS_ABSENT: return "absent";
    case ZAIRYU_SIGNATURE_STATUS_NOT_CHECKED: return "not checked";
    default: return "?";
  }
}

static const char *profile_name(zairyu_anchor_profile p) {
  switch (p) {
    case ZAIRYU_ANCHOR_PROFILE_PRODUCTION: return "production (Ministry root)";
    case ZAIRYU_ANCHOR_PROFILE_TEST: return "test";
    default: return "none (no trusted anchor)";
  }
}

static const char *verdict_name(zairyu_verdict v) {
  switch (v) {
    case ZAIRYU_VERDICT_PRODUCTION: return "production: genuine (Ministry root)";
    case ZAIRYU_VERDICT_TEST: return "test: valid under a test anchor, not genuine";
    case ZAIRYU_VERDICT_UNTRUSTED: return "untrusted: valid signature, no trusted anchor";
    case ZAIRYU_VERDICT_INVALID: return "INVALID signature";
    case ZAIRYU_VERDICT_ABSENT: return "absent: no signature on the card";
    case ZAIRYU_VERDICT_NOT_CHECKED: return "not checked";
    default: return "?";
  }
}

static const char *card_type_name(zairyu_card_type t) {
  switch (t) {
    case ZAIRYU_CARD_TYPE_RESIDENCE_CARD: return "1 在留カード";
    case ZAIRYU_CARD_TYPE_SPECIAL_PERMANENT_RESIDENT: return "2 特別永住者証明書";
    case ZAIRYU_CARD_TYPE_GEN2_RESIDENCE_CARD: return "05 第２世代在留カード";
    case ZAIRYU_CARD_TYPE_GEN2_SPECIAL_PERMANENT_RESIDENT: return "06 第２世代特別永住者証明書";
    default: return "?";
  }
}

int main(int argc, char **argv) {
  const char *reader = NULL, *trust_dir = NULL, *number = NULL;
  int sim_ca = 0, sim_production = 0, sim_hostile = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--reader") == 0 && i + 1 < argc) reader = argv[++i];
    else if (strcmp(argv[i], "--trust-dir") == 0 && i + 1 < argc) trust_dir = argv[++i];
    else if (strcmp(argv[i], "--sim-test-ca") == 0) sim_ca = 1;
    else if (strcmp(argv[i], "--sim-production-pki") == 0) sim_production = 1;
    else if (strcmp(argv[i], "--sim-hostile-text") == 0) sim_hostile = 1;
    else if (argv[i][0] != '-' && !number) number = argv[i];
    else number = NULL, i = argc;
  }
  if (!number || (reader && (sim_production || sim_hostile))) {
    fprintf(stderr,
            "usage: %s [--reader NAME | --sim-production-pki | --sim-hostile-text] [--trust-dir DIR] [--sim-test-ca] "
            "CARD_NUMBER\n",
            argv[0]);
    return 2;
  }

  int status = 1;
  zairyu_trust_store *trust = NULL;
  zairyu_card *card = NULL;
  zairyu_read_result *result = NULL;
  zairyu_result rc;

  if ((rc = zairyu_trust_store_new(&trust)) != ZAIRYU_RESULT_OK) { fail("trust store", rc); goto out; }
  if (trust_dir && (rc = zairyu_trust_store_load_production_dir(trust, trust_dir, NULL)) != ZAIRYU_RESULT_OK) {
    fail("loading --trust-dir", rc);
    status = 7;
    goto out;
  }
  if ((!reader || sim_ca) && (rc = zairyu_trust_store_add_simulator_test_anchors(trust)) != ZAIRYU_RESULT_OK) {
    fail("simulator test CA", rc);
    goto out;
  }

  if (reader) rc = zairyu_card_open_pcsc(reader, &card);
  else {
    uint32_t flags = (sim_production ? ZAIRYU_SIM_SYNTHETIC_PRODUCTION_PKI : 0) | (sim_hostile ? ZAIRYU_SIM_HOSTILE_TEXT : 0);
    rc = zairyu_card_open_simulator("1", NULL, flags, &card);
  }
  if (rc != ZAIRYU_RESULT_OK) { fail("opening the card", rc); goto out; }

  rc = zairyu_card_read(card, trust, number, ZAIRYU_READ_POLICY_FULL, &result);
  if (rc != ZAIRYU_RESULT_OK) { fail("reading the card", rc); goto out; }

  zairyu_card_type type = 0;
  zairyu_signature_status sig = 0;
  zairyu_chain_status chain = 0;
  zairyu_anchor_profile profile = 0;
  zairyu_read_result_card_type(result, &type);
  zairyu_read_result_signature(result, &sig);
  zairyu_read_result_chain(result, &chain);
  zairyu_read_result_anchor_profile(result, &profile);
  zairyu_verdict verdict = 0;
  if ((rc = zairyu_read_result_verdict(result, &verdict)) != ZAIRYU_RESULT_OK) { fail("the verdict", rc); goto out; }

  printf("zairyu %s, %s\n", zairyu_version(), reader ? reader : "in-process simulator");
  printf("%-20s %s\n", "card type", card_type_name(type));
  print_field(result, "card number", ZAIRYU_FIELD_CARD_NUMBER_REDACTED);
  print_field(result, "spec version", ZAIRYU_FIELD_SPEC_VERSION);
  print_field(result, "address", ZAIRYU_FIELD_ADDRESS);
  print_field(result, "municipality code", ZAIRYU_FIELD_MUNICIPALITY_CODE);
  print_field(result, "birth date", ZAIRYU_FIELD_BIRTH_DATE);
  print_field(result, "nationality", ZAIRYU_FIELD_NATIONALITY);
  printf("%-20s %s\n", "signature", signature_name(sig));
  printf("%-20s %s\n", "chain", chain == ZAIRYU_CHAIN_STATUS_VERIFIED ? "verified" : "not verified");
  printf("%-20s %s\n", "anchor profile", profile_name(profile));
  printf("%-20s %s\n", "verdict", verdict_name(verdict));
  size_t face = 0;
  if (zairyu_read_result_image(result, ZAIRYU_IMAGE_KIND_FACE, NULL, 0, &face) == ZAIRYU_RESULT_BUFFER_TOO_SMALL)
    printf("%-20s %zu bytes\n", "face image", face);

  /* Only a genuine card is 0; valid under a test anchor is 12, never 0. */
  switch (verdict) {
    case ZAIRYU_VERDICT_PRODUCTION: status = 0; break;
    case ZAIRYU_VERDICT_TEST: status = 12; break;
    case ZAIRYU_VERDICT_INVALID: status = 10; break;
    default: status = 11; break;
  }

out:
  zairyu_read_result_free(result);
  zairyu_card_free(card);
  zairyu_trust_store_free(trust);
  return status;
}
