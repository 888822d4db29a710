/*
 * read_card: read and verify a residence card with the zairyu C library.
 *
 *   read_card [--reader NAME] [--trust-dir DIR] [--sim-test-ca] CARD_NUMBER
 *
 * Without --reader it reads a card of the in-process simulator (type 1, number
 * AB12345678CD, trusting the simulator's test CA). With --reader it reads the card in
 * that PC/SC reader, trusting the Ministry roots in --trust-dir and, with
 * --sim-test-ca, the simulator's test CA (for a simulated card served on vpcd).
 *
 * Build (see the README, "C library"):
 *   cc read_card.c $(pkg-config --cflags --libs zairyu) -o read_card
 *
 * Exit status, from the verdict (zairyu_read_result_verdict, as the CLI's): 0
 * signature valid and chain verified (production or test anchor), 1 read failed,
 * 2 usage, 10 signature invalid, 11 signature absent/not checked or no trusted anchor.
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

/* Prints one text field if the card has it. */
static void print_field(const zairyu_read_result *r, const char *label, uint32_t field) {
  char buf[1024];
  size_t n = 0;
  if (zairyu_read_result_field(r, field, buf, sizeof buf, &n) == ZAIRYU_RESULT_OK) printf("%-20s %s\n", label, buf);
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
  int sim_ca = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--reader") == 0 && i + 1 < argc) reader = argv[++i];
    else if (strcmp(argv[i], "--trust-dir") == 0 && i + 1 < argc) trust_dir = argv[++i];
    else if (strcmp(argv[i], "--sim-test-ca") == 0) sim_ca = 1;
    else if (argv[i][0] != '-' && !number) number = argv[i];
    else number = NULL, i = argc;
  }
  if (!number) {
    fprintf(stderr, "usage: %s [--reader NAME] [--trust-dir DIR] [--sim-test-ca] CARD_NUMBER\n", argv[0]);
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
    goto out;
  }
  if ((!reader || sim_ca) && (rc = zairyu_trust_store_add_simulator_test_anchors(trust)) != ZAIRYU_RESULT_OK) {
    fail("simulator test CA", rc);
    goto out;
  }

  if (reader) rc = zairyu_card_open_pcsc(reader, &card);
  else rc = zairyu_card_open_simulator("1", NULL, 0, &card);
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

  if (verdict == ZAIRYU_VERDICT_PRODUCTION || verdict == ZAIRYU_VERDICT_TEST) status = 0;
  else if (verdict == ZAIRYU_VERDICT_INVALID) status = 10;
  else status = 11;

out:
  zairyu_read_result_free(result);
  zairyu_card_free(card);
  zairyu_trust_store_free(trust);
  return status;
}
