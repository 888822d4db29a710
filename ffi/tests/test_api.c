/*
 * C tests of the zairyu C API, compiled against include/zairyu.h and the static
 * library (ffi/run-c-tests.sh builds and runs them under AddressSanitizer and
 * Valgrind). Prints one line per failed check and ends with "N passed, M failed".
 *
 * Environment: ZAIRYU_TEST_READER names a PC/SC reader holding a simulated card
 * with number AB12345678CD (`zairyu sim serve` on vpcd); without it the tests that
 * need a card in a reader are skipped. EXPECTED_VERSION (the crate version from
 * Cargo) and ZAIRYU_HEADER_PATH (include/zairyu.h, whose result codes the tests
 * read, so that no list of codes is kept here) are defined by the build.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zairyu.h"

#ifndef EXPECTED_VERSION
#error "build with -DEXPECTED_VERSION=\"x.y.z\" (the crate version)"
#endif
#ifndef ZAIRYU_HEADER_PATH
#error "build with -DZAIRYU_HEADER_PATH=\"/path/to/include/zairyu.h\""
#endif

static int passed, failed, skipped;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (cond) {                                                            \
      passed++;                                                            \
    } else {                                                               \
      failed++;                                                            \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
    }                                                                      \
  } while (0)

#define CHECK_RC(expr, want)                                                          \
  do {                                                                                \
    zairyu_result rc_ = (expr);                                                       \
    if (rc_ == (zairyu_result)(want)) {                                               \
      passed++;                                                                       \
    } else {                                                                          \
      failed++;                                                                       \
      char detail_[512] = "";                                                         \
      size_t n_;                                                                      \
      zairyu_last_error_message(detail_, sizeof detail_, &n_);                        \
      fprintf(stderr, "FAIL %s:%d: %s = %u (%s), want %s [%s]\n", __FILE__, __LINE__, \
              #expr, (unsigned)rc_, zairyu_result_name(rc_), #want, detail_);         \
    }                                                                                 \
  } while (0)

static const char *NUMBER = "AB12345678CD";

/* ---- helpers ---- */

static zairyu_trust_store *sim_trust(void) {
  zairyu_trust_store *t = NULL;
  CHECK_RC(zairyu_trust_store_new(&t), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_trust_store_add_simulator_test_anchors(t), ZAIRYU_RESULT_OK);
  return t;
}

static zairyu_result read_sim(const char *type, uint32_t flags, const char *number, uint32_t policy,
                              zairyu_read_result **out) {
  zairyu_trust_store *t = sim_trust();
  zairyu_card *c = NULL;
  CHECK_RC(zairyu_card_open_simulator(type, NULL, flags, &c), ZAIRYU_RESULT_OK);
  zairyu_result rc = zairyu_card_read(c, t, number, policy, out);
  zairyu_card_free(c);
  zairyu_trust_store_free(t);
  return rc;
}

/* Copies a text getter's output into a malloc'd string, asking for the size first. */
static char *field(const zairyu_read_result *r, uint32_t f) {
  size_t need = 0, len = 0;
  if (zairyu_read_result_field(r, f, NULL, 0, &need) != ZAIRYU_RESULT_BUFFER_TOO_SMALL) return NULL;
  char *s = malloc(need);
  if (zairyu_read_result_field(r, f, s, need, &len) != ZAIRYU_RESULT_OK || len + 1 != need) {
    free(s);
    return NULL;
  }
  return s;
}

static char *json(const zairyu_read_result *r, uint32_t flags) {
  size_t need = 0, len = 0;
  if (zairyu_read_result_json(r, flags, NULL, 0, &need) != ZAIRYU_RESULT_BUFFER_TOO_SMALL) return NULL;
  char *s = malloc(need);
  if (zairyu_read_result_json(r, flags, s, need, &len) != ZAIRYU_RESULT_OK || strlen(s) != len) {
    free(s);
    return NULL;
  }
  return s;
}

/* Checks a read's verification: signature, chain, anchor profile, and the verdict
   that sums them up, in the getter, in is_production_valid and in the JSON report. */
static void check_verification(const zairyu_read_result *r, zairyu_signature_status want_sig,
                               zairyu_chain_status want_chain, zairyu_anchor_profile want_prof,
                               zairyu_verdict want_verdict, const char *verdict_name) {
  zairyu_signature_status sig = 0;
  zairyu_chain_status chain = 0;
  zairyu_anchor_profile prof = 99;
  zairyu_verdict verdict = 0;
  bool prod = want_verdict != ZAIRYU_VERDICT_PRODUCTION;
  CHECK_RC(zairyu_read_result_signature(r, &sig), ZAIRYU_RESULT_OK);
  CHECK(sig == want_sig);
  CHECK_RC(zairyu_read_result_chain(r, &chain), ZAIRYU_RESULT_OK);
  CHECK(chain == want_chain);
  CHECK_RC(zairyu_read_result_anchor_profile(r, &prof), ZAIRYU_RESULT_OK);
  CHECK(prof == want_prof);
  CHECK_RC(zairyu_read_result_verdict(r, &verdict), ZAIRYU_RESULT_OK);
  CHECK(verdict == want_verdict);
  CHECK_RC(zairyu_read_result_is_production_valid(r, &prod), ZAIRYU_RESULT_OK);
  CHECK(prod == (want_verdict == ZAIRYU_VERDICT_PRODUCTION));
  char want[64];
  snprintf(want, sizeof want, "\"verdict\":\"%s\"", verdict_name);
  char *j = json(r, 0);
  CHECK(j && strstr(j, want) != NULL);
  free(j);
}

static int last_error_starts_with(const char *prefix) {
  char buf[1024];
  size_t n = 0;
  if (zairyu_last_error_message(buf, sizeof buf, &n) != ZAIRYU_RESULT_OK) return 0;
  return strncmp(buf, prefix, strlen(prefix)) == 0 && strstr(buf, "12345678") == NULL;
}

/* ---- version and result codes ---- */

static void test_version(void) {
  char macro_version[64];
  snprintf(macro_version, sizeof macro_version, "%d.%d.%d", ZAIRYU_VERSION_MAJOR, ZAIRYU_VERSION_MINOR,
           ZAIRYU_VERSION_PATCH);
  CHECK(strcmp(ZAIRYU_VERSION, macro_version) == 0);
  CHECK(strcmp(ZAIRYU_VERSION, zairyu_version()) == 0);
  CHECK(strcmp(ZAIRYU_VERSION, EXPECTED_VERSION) == 0);
  CHECK(strcmp(zairyu_version(), EXPECTED_VERSION) == 0);
}

/* The constants of enum zairyu_result, as the header declares them. */
struct header_code {
  char name[64]; /* without the ZAIRYU_RESULT_ prefix, in lower case */
  unsigned value;
};

static size_t header_result_codes(struct header_code *out, size_t cap) {
  FILE *f = fopen(ZAIRYU_HEADER_PATH, "r");
  if (!f) return 0;
  char line[512];
  size_t n = 0;
  int in_enum = 0;
  while (fgets(line, sizeof line, f)) {
    if (strcmp(line, "enum zairyu_result\n") == 0) {
      in_enum = 1;
    } else if (in_enum && strncmp(line, "};", 2) == 0) {
      break;
    } else if (in_enum && n < cap &&
               sscanf(line, " ZAIRYU_RESULT_%63[A-Z0-9_] = %u,", out[n].name, &out[n].value) == 2) {
      for (char *c = out[n].name; *c; c++) *c = (char)tolower((unsigned char)*c);
      n++;
    }
  }
  fclose(f);
  return n;
}

static int header_has(const struct header_code *codes, size_t count, unsigned value) {
  for (size_t i = 0; i < count; i++)
    if (codes[i].value == value) return 1;
  return 0;
}

static void test_result_codes(void) {
  CHECK(ZAIRYU_RESULT_OK == 0);
  /* Every code of the header's enum has its constant's name, and the library
     names no other number (the numbers 0 to 999 hold every block). */
  struct header_code codes[256];
  size_t count = header_result_codes(codes, 256);
  CHECK(count > 30 && count < 256);
  for (size_t i = 0; i < count; i++) {
    if (strcmp(zairyu_result_name(codes[i].value), codes[i].name) != 0) {
      failed++;
      fprintf(stderr, "FAIL: zairyu_result_name(%u) = %s, the header says %s\n", codes[i].value,
              zairyu_result_name(codes[i].value), codes[i].name);
    }
  }
  size_t named = 0;
  for (unsigned n = 0; n < 1000; n++) {
    if (strcmp(zairyu_result_name(n), "unknown") == 0) continue;
    named++;
    CHECK(header_has(codes, count, n));
  }
  CHECK(named == count);
  CHECK(strcmp(zairyu_result_name(4242), "unknown") == 0);

  /* The codes of the core's errors: distinct header codes outside 0 and the 9xx block. */
  size_t errors = zairyu_error_code_count();
  zairyu_result seen[256];
  CHECK(errors > 20 && errors < count);
  for (size_t i = 0; i < errors && i < 256; i++) {
    CHECK_RC(zairyu_error_code_at(i, &seen[i]), ZAIRYU_RESULT_OK);
    CHECK(header_has(codes, count, seen[i]));
    CHECK(seen[i] / 100 >= 1 && seen[i] / 100 <= 8);
    for (size_t k = 0; k < i; k++) CHECK(seen[k] != seen[i]);
  }
  zairyu_result at = ZAIRYU_RESULT_OK;
  CHECK_RC(zairyu_error_code_at(errors, &at), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK(at == ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_error_code_at(0, NULL), ZAIRYU_RESULT_NULL_POINTER);

  char buf[256];
  size_t n = 0;
  CHECK_RC(zairyu_result_message(ZAIRYU_RESULT_WRONG_CARD_NUMBER, buf, sizeof buf, &n), ZAIRYU_RESULT_OK);
  CHECK(strncmp(buf, "wrong_card_number: ", 19) == 0 && strlen(buf) == n);
  CHECK_RC(zairyu_result_message(4242, buf, sizeof buf, &n), ZAIRYU_RESULT_OK);
  CHECK(strcmp(buf, "unknown: result code 4242") == 0);
  /* Buffer too small: nothing written, *out_len = size needed, NUL included. */
  memset(buf, 'X', sizeof buf);
  size_t need = 0;
  CHECK_RC(zairyu_result_message(ZAIRYU_RESULT_OK, buf, 3, &need), ZAIRYU_RESULT_BUFFER_TOO_SMALL);
  CHECK(need == strlen("ok: success") + 1);
  CHECK(buf[0] == 'X' && buf[1] == 'X' && buf[2] == 'X');
  CHECK_RC(zairyu_result_message(ZAIRYU_RESULT_OK, buf, need - 1, &n), ZAIRYU_RESULT_BUFFER_TOO_SMALL);
  CHECK_RC(zairyu_result_message(ZAIRYU_RESULT_OK, buf, need, &n), ZAIRYU_RESULT_OK);
  CHECK(n == need - 1 && strcmp(buf, "ok: success") == 0);
  /* The last error survives a failed call of zairyu_last_error_message. */
  CHECK_RC(zairyu_result_message(ZAIRYU_RESULT_OK, NULL, 5, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_last_error_message(buf, 2, &n), ZAIRYU_RESULT_BUFFER_TOO_SMALL);
  CHECK(last_error_starts_with("null_pointer: "));
}

/* ---- simulator reads ---- */

static void test_read_all_types(void) {
  const char *types[] = {"1", "2", "05", "06"};
  const zairyu_card_type want_type[] = {ZAIRYU_CARD_TYPE_RESIDENCE_CARD, ZAIRYU_CARD_TYPE_SPECIAL_PERMANENT_RESIDENT,
                                        ZAIRYU_CARD_TYPE_GEN2_RESIDENCE_CARD,
                                        ZAIRYU_CARD_TYPE_GEN2_SPECIAL_PERMANENT_RESIDENT};
  for (int i = 0; i < 4; i++) {
    zairyu_read_result *r = NULL;
    CHECK_RC(read_sim(types[i], 0, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
    if (!r) continue;
    zairyu_card_type t = 0;
    uint8_t gen = 0;
    CHECK_RC(zairyu_read_result_card_type(r, &t), ZAIRYU_RESULT_OK);
    CHECK(t == want_type[i]);
    CHECK_RC(zairyu_read_result_generation(r, &gen), ZAIRYU_RESULT_OK);
    CHECK(gen == (i < 2 ? 1 : 2));
    check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_VERIFIED, ZAIRYU_ANCHOR_PROFILE_TEST,
                       ZAIRYU_VERDICT_TEST, "test");

    char fp[65];
    size_t n = 0;
    CHECK_RC(zairyu_read_result_anchor_fingerprint(r, fp, sizeof fp, &n), ZAIRYU_RESULT_OK);
    CHECK(n == 64 && strspn(fp, "0123456789abcdef") == 64);
    CHECK_RC(zairyu_read_result_verification_reason(r, fp, sizeof fp, &n), ZAIRYU_RESULT_NOT_PRESENT);

    char *s = field(r, ZAIRYU_FIELD_SPEC_VERSION);
    CHECK(s && strlen(s) == 4);
    free(s);
    s = field(r, ZAIRYU_FIELD_CARD_NUMBER_REDACTED);
    CHECK(s && strcmp(s, "AB********CD") == 0);
    free(s);
    if (gen == 1) {
      s = field(r, ZAIRYU_FIELD_ADDRESS);
      CHECK(s && strstr(s, "東京都") != NULL);
      free(s);
      s = field(r, ZAIRYU_FIELD_MUNICIPALITY_CODE);
      CHECK(s && strcmp(s, "131016") == 0);
      free(s);
      CHECK_RC(zairyu_read_result_field(r, ZAIRYU_FIELD_BIRTH_DATE, fp, sizeof fp, &n), ZAIRYU_RESULT_NOT_PRESENT);
    } else {
      s = field(r, ZAIRYU_FIELD_BIRTH_DATE);
      CHECK(s && strlen(s) == 8);
      free(s);
      s = field(r, ZAIRYU_FIELD_NATIONALITY);
      CHECK(s && strlen(s) == 3);
      free(s);
      CHECK_RC(zairyu_read_result_field(r, ZAIRYU_FIELD_ADDRESS, fp, sizeof fp, &n), ZAIRYU_RESULT_NOT_PRESENT);
    }
    CHECK_RC(zairyu_read_result_field(r, 9999, fp, sizeof fp, &n), ZAIRYU_RESULT_INVALID_ARGUMENT);

    /* Images: the face is JPEG 2000 on both generations. */
    size_t need = 0, got = 0;
    CHECK_RC(zairyu_read_result_image(r, ZAIRYU_IMAGE_KIND_FACE, NULL, 0, &need), ZAIRYU_RESULT_BUFFER_TOO_SMALL);
    CHECK(need > 100 && need <= 3000);
    uint8_t *img = malloc(need);
    CHECK_RC(zairyu_read_result_image(r, ZAIRYU_IMAGE_KIND_FACE, img, need, &got), ZAIRYU_RESULT_OK);
    CHECK(got == need);
    CHECK(got > 12 && img[4] == 'j' && img[5] == 'P');
    free(img);
    zairyu_image_format fmt = 0;
    CHECK_RC(zairyu_read_result_image_format(r, ZAIRYU_IMAGE_KIND_FACE, &fmt), ZAIRYU_RESULT_OK);
    CHECK(fmt == ZAIRYU_IMAGE_FORMAT_JP2);
    CHECK_RC(zairyu_read_result_image(r, gen == 1 ? ZAIRYU_IMAGE_KIND_NAME : ZAIRYU_IMAGE_KIND_FRONT, NULL, 0, &need),
             ZAIRYU_RESULT_NOT_PRESENT);
    CHECK_RC(zairyu_read_result_image_format(r, gen == 1 ? ZAIRYU_IMAGE_KIND_FRONT : ZAIRYU_IMAGE_KIND_NAME, &fmt),
             ZAIRYU_RESULT_OK);
    CHECK(fmt == ZAIRYU_IMAGE_FORMAT_TIFF);
    CHECK_RC(zairyu_read_result_image(r, 77, NULL, 0, &need), ZAIRYU_RESULT_INVALID_ARGUMENT);

    /* The JSON report: CLI schema, card number redacted, one line. */
    char *j = json(r, 0);
    CHECK(j != NULL);
    if (j) {
      CHECK(strstr(j, "\"card_number\":\"AB********CD\"") != NULL);
      CHECK(strstr(j, NUMBER) == NULL);
      CHECK(strstr(j, "\"verification\":{") != NULL);
      CHECK(strstr(j, "\"signature\":\"valid\"") != NULL);
      CHECK(strchr(j, '\n') == NULL);
      free(j);
    }
    j = json(r, ZAIRYU_JSON_PRETTY);
    CHECK(j && strchr(j, '\n') != NULL);
    free(j);
    CHECK_RC(zairyu_read_result_json(r, 2, NULL, 0, &need), ZAIRYU_RESULT_INVALID_ARGUMENT);
    zairyu_read_result_free(r);
  }
}

static void test_policies_and_card_variants(void) {
  zairyu_read_result *r = NULL;
  size_t n = 0;
  char buf[512];

  /* Privacy policy: text only, signature not checked, no images. */
  CHECK_RC(read_sim("05", 0, NUMBER, ZAIRYU_READ_POLICY_TEXT_ONLY, &r), ZAIRYU_RESULT_OK);
  check_verification(r, ZAIRYU_SIGNATURE_STATUS_NOT_CHECKED, ZAIRYU_CHAIN_STATUS_NOT_CHECKED, ZAIRYU_ANCHOR_PROFILE_NONE,
                     ZAIRYU_VERDICT_NOT_CHECKED, "not_checked");
  CHECK_RC(zairyu_read_result_image(r, ZAIRYU_IMAGE_KIND_FACE, NULL, 0, &n), ZAIRYU_RESULT_NOT_PRESENT);
  CHECK_RC(zairyu_read_result_verification_reason(r, buf, sizeof buf, &n), ZAIRYU_RESULT_OK);
  CHECK(strstr(buf, "text_only") != NULL);
  zairyu_read_result_free(r);
  r = NULL;
  CHECK_RC(read_sim("1", 0, NUMBER, 7, &r), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK(r == NULL);

  /* A tampered card reads fine and says INVALID. */
  CHECK_RC(read_sim("1", ZAIRYU_SIM_TAMPERED, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  check_verification(r, ZAIRYU_SIGNATURE_STATUS_INVALID, ZAIRYU_CHAIN_STATUS_VERIFIED, ZAIRYU_ANCHOR_PROFILE_TEST,
                     ZAIRYU_VERDICT_INVALID, "invalid");
  zairyu_read_result_free(r);

  /* Under-16: no signature, no face. */
  CHECK_RC(read_sim("1", ZAIRYU_SIM_UNDER_16, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  check_verification(r, ZAIRYU_SIGNATURE_STATUS_ABSENT, ZAIRYU_CHAIN_STATUS_NO_CERTIFICATE, ZAIRYU_ANCHOR_PROFILE_NONE,
                     ZAIRYU_VERDICT_ABSENT, "absent");
  CHECK_RC(zairyu_read_result_image(r, ZAIRYU_IMAGE_KIND_FACE, NULL, 0, &n), ZAIRYU_RESULT_NOT_PRESENT);
  zairyu_read_result_free(r);

  /* A short-APDU link: the core's fallbacks, named in the report and warned
     about with a coded warning. The simulator's "6" is the second-generation "06". */
  CHECK_RC(read_sim("6", ZAIRYU_SIM_SHORT_APDUS_ONLY, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_VERIFIED, ZAIRYU_ANCHOR_PROFILE_TEST,
                     ZAIRYU_VERDICT_TEST, "test");
  char *j = json(r, 0);
  CHECK(j && strstr(j, "\"extended_length\":false") != NULL);
  CHECK(j && strstr(j, "\"warnings\":[{\"code\":\"") != NULL);
  CHECK(j && strstr(j, "{\"code\":\"short_apdu_fallback\",\"message\":\"") != NULL);
  free(j);
  zairyu_read_result_free(r);

  /* No anchors: the read works, the chain does not. */
  zairyu_trust_store *empty = NULL;
  zairyu_card *c = NULL;
  CHECK_RC(zairyu_trust_store_new(&empty), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_open_simulator("2", "XY00000000ZW", 0, &c), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_read(c, empty, " xy00000000zw\n", ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_NO_MATCHING_ANCHOR, ZAIRYU_ANCHOR_PROFILE_NONE,
                     ZAIRYU_VERDICT_UNTRUSTED, "untrusted");
  CHECK_RC(zairyu_read_result_anchor_fingerprint(r, buf, sizeof buf, &n), ZAIRYU_RESULT_NOT_PRESENT);
  zairyu_read_result_free(r);
  /* The same card handle reads again. */
  CHECK_RC(zairyu_card_read(c, empty, "XY00000000ZW", ZAIRYU_READ_POLICY_TEXT_ONLY, &r), ZAIRYU_RESULT_OK);
  zairyu_read_result_free(r);
  zairyu_card_free(c);
  zairyu_trust_store_free(empty);

  /* Simulator arguments. */
  CHECK_RC(zairyu_card_open_simulator("07", NULL, 0, &c), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK_RC(zairyu_card_open_simulator("3", NULL, 0, &c), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK(last_error_starts_with("invalid_argument: \"3\" is not a valid card type"));
  CHECK_RC(zairyu_card_open_simulator("1", NULL, 1u << 20, &c), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK_RC(zairyu_card_open_simulator("1", "short", 0, &c), ZAIRYU_RESULT_INPUT_BAD_CARD_NUMBER);
}

static void test_card_errors(void) {
  zairyu_read_result *sentinel = (zairyu_read_result *)&passed; /* never dereferenced */
  zairyu_read_result *r = sentinel;

  /* 4xx: wrong card number, both generations; nothing written to *out. */
  CHECK_RC(read_sim("1", 0, "AB12345678CE", ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_WRONG_CARD_NUMBER);
  CHECK(r == sentinel);
  CHECK(last_error_starts_with("wrong_card_number: "));
  CHECK_RC(read_sim("05", 0, "AB12345678CE", ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_WRONG_CARD_NUMBER);
  CHECK(r == sentinel);
  CHECK_RC(read_sim("1", ZAIRYU_SIM_FAULT_BAD_CARD_MAC, NUMBER, ZAIRYU_READ_POLICY_FULL, &r),
           ZAIRYU_RESULT_AUTH_CARD_MAC_MISMATCH);
  /* 1xx: a card number that is not one. */
  CHECK_RC(read_sim("1", 0, "AB-12345", ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_INPUT_BAD_CARD_NUMBER);
  CHECK(last_error_starts_with("input_bad_card_number: "));
  /* 5xx: secure messaging. */
  CHECK_RC(read_sim("1", ZAIRYU_SIM_FAULT_BAD_SM_PADDING, NUMBER, ZAIRYU_READ_POLICY_FULL, &r),
           ZAIRYU_RESULT_SM_BAD_PADDING);
  CHECK(last_error_starts_with("sm_bad_padding: "));
  /* 2xx: the card leaves mid-session. */
  CHECK_RC(read_sim("05", ZAIRYU_SIM_FAULT_REMOVE_CARD, NUMBER, ZAIRYU_READ_POLICY_FULL, &r),
           ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED);
  CHECK(r == sentinel);
}

/* ---- the transmit callback ---- */

struct forward {
  zairyu_card *inner; /* a simulator card */
  int calls;
  int fail_at;        /* fail call number fail_at (1-based) with fail_code; 0 = never */
  uint32_t fail_code;
  int lie_length;     /* report a response longer than resp_cap */
};

static uint32_t forward_cb(void *ud, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t resp_cap,
                           size_t *resp_len) {
  struct forward *f = ud;
  f->calls++;
  if (f->fail_at && f->calls == f->fail_at) return f->fail_code;
  uint32_t rc = zairyu_card_transmit(f->inner, cmd, cmd_len, resp, resp_cap, resp_len);
  if (f->lie_length) *resp_len = resp_cap + 1;
  return rc;
}

static zairyu_result read_via_callback(struct forward *f, uint32_t flags, const char *number) {
  zairyu_trust_store *t = sim_trust();
  zairyu_card *outer = NULL;
  zairyu_read_result *r = NULL;
  CHECK_RC(zairyu_card_open_simulator("1", NULL, (flags & ZAIRYU_TRANSPORT_EXTENDED_LENGTH) ? 0 : ZAIRYU_SIM_SHORT_APDUS_ONLY, &f->inner), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_open_callback(forward_cb, f, flags, &outer), ZAIRYU_RESULT_OK);
  zairyu_result rc = zairyu_card_read(outer, t, number, ZAIRYU_READ_POLICY_FULL, &r);
  if (rc == ZAIRYU_RESULT_OK)
    check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_VERIFIED, ZAIRYU_ANCHOR_PROFILE_TEST,
                       ZAIRYU_VERDICT_TEST, "test");
  zairyu_read_result_free(r);
  zairyu_card_free(outer);
  zairyu_card_free(f->inner);
  zairyu_trust_store_free(t);
  return rc;
}

/* Answers like a card whose MF files are given, for the parse/unsupported/status paths. */
struct scripted {
  const uint8_t *ef01;
  size_t ef01_len;
  const uint8_t *ef02;
  size_t ef02_len;
  int select_status; /* non-zero: answer 6A 82 to SELECT */
};

static uint32_t scripted_cb(void *ud, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t resp_cap,
                            size_t *resp_len) {
  struct scripted *s = ud;
  (void)resp_cap;
  if (cmd_len < 4) return 1;
  const uint8_t *data = NULL;
  size_t len = 0;
  if (cmd[1] == 0xA4 && s->select_status) {
    resp[0] = 0x6A, resp[1] = 0x82, *resp_len = 2;
    return 0;
  }
  if (cmd[1] == 0xB0 && cmd[2] == 0x8B) data = s->ef01, len = s->ef01_len;
  if (cmd[1] == 0xB0 && cmd[2] == 0x8A) data = s->ef02, len = s->ef02_len;
  if (len) memcpy(resp, data, len);
  resp[len] = 0x90, resp[len + 1] = 0x00, *resp_len = len + 2;
  return 0;
}

static uint32_t reenter_cb(void *ud, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t resp_cap,
                           size_t *resp_len) {
  zairyu_card **own = ud;
  uint32_t rc = zairyu_card_transmit(*own, cmd, cmd_len, resp, resp_cap, resp_len);
  return rc == ZAIRYU_RESULT_HANDLE_BUSY ? ZAIRYU_RESULT_TRANSPORT_SHARING_VIOLATION : 1;
}

static void test_callback_transport(void) {
  struct forward f;
  memset(&f, 0, sizeof f);
  CHECK_RC(read_via_callback(&f, ZAIRYU_TRANSPORT_EXTENDED_LENGTH, NUMBER), ZAIRYU_RESULT_OK);
  CHECK(f.calls == 16); /* the spec minimum for a type-1 card */
  memset(&f, 0, sizeof f);
  CHECK_RC(read_via_callback(&f, 0, NUMBER), ZAIRYU_RESULT_OK); /* short APDUs: fallbacks */
  CHECK(f.calls > 16);
  memset(&f, 0, sizeof f);
  CHECK_RC(read_via_callback(&f, ZAIRYU_TRANSPORT_EXTENDED_LENGTH, "AB12345678CE"), ZAIRYU_RESULT_WRONG_CARD_NUMBER);

  /* Transport errors from the callback, by the code it returns. */
  const struct {
    uint32_t code;
    zairyu_result want;
  } cases[] = {
      {ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED, ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED},
      {ZAIRYU_RESULT_TRANSPORT_CARD_RESET, ZAIRYU_RESULT_TRANSPORT_CARD_RESET},
      {ZAIRYU_RESULT_TRANSPORT_READER_UNAVAILABLE, ZAIRYU_RESULT_TRANSPORT_READER_UNAVAILABLE},
      {ZAIRYU_RESULT_TRANSPORT_SHARING_VIOLATION, ZAIRYU_RESULT_TRANSPORT_SHARING_VIOLATION},
      {1, ZAIRYU_RESULT_TRANSPORT_OTHER},
      {0xFFFFFFFFu, ZAIRYU_RESULT_TRANSPORT_OTHER},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (int at = 1; at <= 9; at += 8) { /* first APDU, and inside the SM session */
      memset(&f, 0, sizeof f);
      f.fail_at = at;
      f.fail_code = cases[i].code;
      CHECK_RC(read_via_callback(&f, ZAIRYU_TRANSPORT_EXTENDED_LENGTH, NUMBER), cases[i].want);
      CHECK(f.calls == at);
    }
  }
  CHECK(last_error_starts_with("transport_other: "));
  memset(&f, 0, sizeof f);
  f.lie_length = 1;
  CHECK_RC(read_via_callback(&f, ZAIRYU_TRANSPORT_EXTENDED_LENGTH, NUMBER), ZAIRYU_RESULT_TRANSPORT_OTHER);

  /* Re-entering the callback's own card is refused, not undefined. */
  zairyu_card *own = NULL;
  zairyu_trust_store *t = sim_trust();
  zairyu_read_result *r = NULL;
  CHECK_RC(zairyu_card_open_callback(reenter_cb, &own, 0, &own), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_read(own, t, NUMBER, 0, &r), ZAIRYU_RESULT_TRANSPORT_SHARING_VIOLATION);
  zairyu_card_free(own);

  /* 3xx, 6xx, 8xx through a scripted card. */
  static const uint8_t ef01_ok[] = {0xC0, 0x04, '0', '0', '0', '1'};
  static const uint8_t ef02_07[] = {0xC1, 0x02, '0', '7'};
  static const uint8_t ef02_99[] = {0xC1, 0x02, '9', '9'};
  static const uint8_t garbage[] = {0xAA, 0x04, 1, 2, 3, 4};
  struct scripted s = {ef01_ok, sizeof ef01_ok, ef02_07, sizeof ef02_07, 0};
  zairyu_card *c = NULL;
  CHECK_RC(zairyu_card_open_callback(scripted_cb, &s, ZAIRYU_TRANSPORT_EXTENDED_LENGTH, &c), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_read(c, t, NUMBER, 0, &r), ZAIRYU_RESULT_UNSUPPORTED_CARD_TYPE);
  s.ef02 = ef02_99;
  CHECK_RC(zairyu_card_read(c, t, NUMBER, 0, &r), ZAIRYU_RESULT_UNKNOWN_CARD_TYPE);
  s.ef01 = garbage;
  CHECK_RC(zairyu_card_read(c, t, NUMBER, 0, &r), ZAIRYU_RESULT_PARSE);
  CHECK(last_error_starts_with("parse: "));
  s.select_status = 1;
  CHECK_RC(zairyu_card_read(c, t, NUMBER, 0, &r), ZAIRYU_RESULT_CARD_STATUS);
  CHECK(last_error_starts_with("card_status: "));
  CHECK(r == NULL);
  /* Raw transmit on a scripted card; a too-small response buffer. */
  uint8_t select_mf[] = {0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00};
  uint8_t resp[2];
  size_t n = 0;
  CHECK_RC(zairyu_card_transmit(c, select_mf, sizeof select_mf, resp, sizeof resp, &n), ZAIRYU_RESULT_OK);
  CHECK(n == 2 && resp[0] == 0x6A && resp[1] == 0x82);
  s.select_status = 0;
  uint8_t read_ef01[] = {0x00, 0xB0, 0x8B, 0x00, 0x00};
  CHECK_RC(zairyu_card_transmit(c, read_ef01, sizeof read_ef01, resp, sizeof resp, &n), ZAIRYU_RESULT_BUFFER_TOO_SMALL);
  CHECK(n == sizeof garbage + 2);
  CHECK_RC(zairyu_card_transmit(c, read_ef01, 3, resp, sizeof resp, &n), ZAIRYU_RESULT_INVALID_ARGUMENT);
  zairyu_card_free(c);

  CHECK_RC(zairyu_card_open_callback(NULL, NULL, 0, &c), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_open_callback(scripted_cb, &s, 2, &c), ZAIRYU_RESULT_INVALID_ARGUMENT);
  zairyu_trust_store_free(t);
}

/* ---- the trust store ---- */

static void test_trust_store(void) {
  char dir[] = "/tmp/zairyu-c-test-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/not-a-ministry-root.der", dir);
  /* A file that is not a certificate. */
  FILE *fp = fopen(path, "wb");
  CHECK(fp != NULL);
  if (fp) {
    fputs("not a certificate", fp);
    fclose(fp);
  }
  zairyu_trust_store *t = NULL;
  size_t count = 777;
  CHECK_RC(zairyu_trust_store_new(&t), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_trust_store_load_production_dir(t, dir, &count), ZAIRYU_RESULT_VERIFY_BAD_ANCHOR_FILE);
  CHECK(count == 777);
  CHECK_RC(zairyu_trust_store_load_production_dir(t, "/nonexistent/zairyu", &count), ZAIRYU_RESULT_VERIFY_BAD_ANCHOR_FILE);
  CHECK(last_error_starts_with("verify_bad_anchor_file: "));
  remove(path);
  CHECK_RC(zairyu_trust_store_load_production_dir(t, dir, &count), ZAIRYU_RESULT_OK);
  CHECK(count == 0);
  CHECK_RC(zairyu_trust_store_add_test_anchor_der(t, (const uint8_t *)"xx", 2), ZAIRYU_RESULT_VERIFY_BAD_ANCHOR_FILE);
  CHECK_RC(zairyu_trust_store_count(t, &count), ZAIRYU_RESULT_OK);
  CHECK(count == 0);
  CHECK_RC(zairyu_trust_store_add_simulator_test_anchors(t), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_trust_store_count(t, &count), ZAIRYU_RESULT_OK);
  CHECK(count == 2);
  CHECK_RC(zairyu_trust_store_load_production_dir(t, "\xff\xfe", NULL), ZAIRYU_RESULT_INVALID_UTF8);
  zairyu_trust_store_free(t);
  rmdir(dir);
}

/* A directory holding a real certificate that is not a pinned Ministry root (the
   simulator's test CA, copied there by run-c-tests.sh): 7xx as production, fine as test. */
static void test_unpinned_root(void) {
  const char *ca = getenv("ZAIRYU_TEST_CA_DIR");
  if (!ca) {
    skipped++;
    return;
  }
  zairyu_trust_store *t = NULL;
  size_t count = 0;
  CHECK_RC(zairyu_trust_store_new(&t), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_trust_store_load_production_dir(t, ca, &count), ZAIRYU_RESULT_VERIFY_UNPINNED_PRODUCTION_ROOT);
  CHECK(last_error_starts_with("verify_unpinned_production_root: "));
  CHECK_RC(zairyu_trust_store_add_test_dir(t, ca, &count), ZAIRYU_RESULT_OK);
  CHECK(count >= 1);
  zairyu_trust_store_free(t);
}

/* ---- NULL pointers and free(NULL) ---- */

static void test_null_pointers(void) {
  zairyu_trust_store *t = sim_trust();
  zairyu_card *c = NULL;
  zairyu_read_result *r = NULL;
  char buf[16];
  size_t n;
  bool b;
  CHECK_RC(zairyu_card_open_simulator("1", NULL, 0, &c), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_read(c, t, NUMBER, 0, &r), ZAIRYU_RESULT_OK);

  CHECK_RC(zairyu_trust_store_new(NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK(last_error_starts_with("null_pointer: "));
  CHECK_RC(zairyu_trust_store_load_production_dir(NULL, "/tmp", NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_trust_store_load_production_dir(t, NULL, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_trust_store_add_test_dir(t, NULL, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_trust_store_add_test_anchor_der(t, NULL, 10), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_trust_store_add_simulator_test_anchors(NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_trust_store_count(t, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_open_simulator(NULL, NULL, 0, &c), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_open_simulator("1", NULL, 0, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_open_pcsc(NULL, &c), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_open_pcsc("x", NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_read(NULL, t, NUMBER, 0, &r), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_read(c, NULL, NUMBER, 0, &r), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_read(c, t, NULL, 0, &r), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_read(c, t, NUMBER, 0, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_transmit(c, NULL, 5, (uint8_t *)buf, sizeof buf, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_transmit(c, (const uint8_t *)"\0\xa4\0\0", 4, (uint8_t *)buf, sizeof buf, NULL),
           ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_card_type(NULL, (zairyu_card_type *)&n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_generation(r, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_signature(r, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_chain(NULL, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_anchor_profile(r, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_is_production_valid(NULL, &b), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_verdict(r, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_verdict(NULL, (zairyu_verdict *)&n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_field(r, ZAIRYU_FIELD_SPEC_VERSION, buf, sizeof buf, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_field(r, ZAIRYU_FIELD_SPEC_VERSION, NULL, sizeof buf, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_json(NULL, 0, buf, sizeof buf, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_image(r, ZAIRYU_IMAGE_KIND_FACE, NULL, 5, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_image_format(r, ZAIRYU_IMAGE_KIND_FACE, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_anchor_fingerprint(r, buf, sizeof buf, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_verification_reason(NULL, buf, sizeof buf, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_reader_list_new(NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_reader_list_count(NULL, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_reader_list_name(NULL, 0, buf, sizeof buf, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_reader_list_card_present(NULL, 0, &b), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_reader_wait(NULL, true, 0, &b), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_reader_wait("x", true, 0, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_result_message(0, buf, sizeof buf, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_last_error_message(buf, sizeof buf, NULL), ZAIRYU_RESULT_NULL_POINTER);

  /* Buffer rule on a getter: too small writes only *out_len. */
  memset(buf, 'X', sizeof buf);
  n = 0;
  CHECK_RC(zairyu_read_result_json(r, 0, buf, sizeof buf, &n), ZAIRYU_RESULT_BUFFER_TOO_SMALL);
  CHECK(n > sizeof buf && buf[0] == 'X' && buf[sizeof buf - 1] == 'X');
  CHECK_RC(zairyu_read_result_field(r, ZAIRYU_FIELD_CARD_NUMBER_REDACTED, buf, 12, &n), ZAIRYU_RESULT_BUFFER_TOO_SMALL);
  CHECK(n == 13 && buf[0] == 'X');
  CHECK_RC(zairyu_read_result_field(r, ZAIRYU_FIELD_CARD_NUMBER_REDACTED, buf, 13, &n), ZAIRYU_RESULT_OK);
  CHECK(n == 12 && strcmp(buf, "AB********CD") == 0);

  zairyu_read_result_free(r);
  zairyu_card_free(c);
  zairyu_trust_store_free(t);
  /* free accepts NULL. */
  zairyu_trust_store_free(NULL);
  zairyu_card_free(NULL);
  zairyu_read_result_free(NULL);
  zairyu_reader_list_free(NULL);
  passed++;
}

/* ---- PC/SC ---- */

static void test_pcsc(void) {
  zairyu_card *c = NULL;
  bool reached = true;
  zairyu_result rc = zairyu_card_open_pcsc("No Such Reader 99", &c);
  /* Without pcscd this is READER_UNAVAILABLE; run-c-tests.sh runs pcscd. */
  CHECK(rc == ZAIRYU_RESULT_TRANSPORT_NO_SUCH_READER || (rc == ZAIRYU_RESULT_TRANSPORT_READER_UNAVAILABLE && !getenv("ZAIRYU_TEST_READER")));
  CHECK(c == NULL);
  if (rc == ZAIRYU_RESULT_TRANSPORT_NO_SUCH_READER) CHECK(last_error_starts_with("transport_no_such_reader: "));

  const char *reader = getenv("ZAIRYU_TEST_READER");
  if (!reader) {
    skipped++;
    return;
  }
  CHECK_RC(zairyu_reader_wait("No Such Reader 99", true, 100, &reached), ZAIRYU_RESULT_TRANSPORT_NO_SUCH_READER);
  CHECK_RC(zairyu_reader_wait(reader, true, 10000, &reached), ZAIRYU_RESULT_OK);
  CHECK(reached);
  CHECK_RC(zairyu_reader_wait(reader, false, 200, &reached), ZAIRYU_RESULT_OK);
  CHECK(!reached);

  zairyu_reader_list *list = NULL;
  size_t count = 0, n = 0;
  int found = 0;
  CHECK_RC(zairyu_reader_list_new(&list), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_reader_list_count(list, &count), ZAIRYU_RESULT_OK);
  for (size_t i = 0; i < count; i++) {
    char name[256];
    bool present = false;
    CHECK_RC(zairyu_reader_list_name(list, i, name, sizeof name, &n), ZAIRYU_RESULT_OK);
    CHECK_RC(zairyu_reader_list_card_present(list, i, &present), ZAIRYU_RESULT_OK);
    if (strcmp(name, reader) == 0) found = present;
  }
  CHECK(found);
  CHECK_RC(zairyu_reader_list_name(list, count, NULL, 0, &n), ZAIRYU_RESULT_INVALID_ARGUMENT);
  zairyu_reader_list_free(list);

  zairyu_trust_store *t = sim_trust();
  zairyu_read_result *r = NULL;
  CHECK_RC(zairyu_card_open_pcsc(reader, &c), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_read(c, t, "AB12345678CE", 0, &r), ZAIRYU_RESULT_WRONG_CARD_NUMBER);
  zairyu_card_free(c);
  c = NULL;
  CHECK_RC(zairyu_card_open_pcsc(reader, &c), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_read(c, t, NUMBER, 0, &r), ZAIRYU_RESULT_OK);
  check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_VERIFIED, ZAIRYU_ANCHOR_PROFILE_TEST,
                     ZAIRYU_VERDICT_TEST, "test");
  char *j = json(r, 0);
  CHECK(j && strstr(j, "\"extended_length\":true") != NULL && strstr(j, NUMBER) == NULL);
  free(j);
  zairyu_read_result_free(r);
  zairyu_card_free(c);
  zairyu_trust_store_free(t);
}

int main(void) {
  test_version();
  test_result_codes();
  test_read_all_types();
  test_policies_and_card_variants();
  test_card_errors();
  test_callback_transport();
  test_trust_store();
  test_unpinned_root();
  test_null_pointers();
  test_pcsc();
  if (skipped) fprintf(stderr, "(%d test groups skipped: see ZAIRYU_TEST_READER, ZAIRYU_TEST_CA_DIR)\n", skipped);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
