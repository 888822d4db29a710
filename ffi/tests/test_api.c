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
 *
 * ZAIRYU_TEST_PRODUCTION_DIR names a directory holding the simulator's synthetic
 * production roots (sim/fixtures/gen{1,2}-synthetic-production-ca.der). The same file is
 * built twice: against the release library (those roots must be refused as
 * unpinned), and with -DZAIRYU_TEST_HOOKS -DZAIRYU_TEST_PRODUCTION_ROOT against a
 * test build of the library (cargo features test-hooks, test-production-root),
 * where a card they sign must be PRODUCTION and a test hook checks the panic
 * boundary.
 *
 * ZAIRYU_TEST_AUTHORITY_URL and ZAIRYU_TEST_AUTHORITY_DIR name a running
 * `zairyu-authority serve` on 127.0.0.1 and its `zairyu-authority init` directory
 * (ffi/run-c-tests.sh starts it, with the policy test_write_remote describes); without
 * them the writes through the service are skipped.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

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
     names no other number (the numbers 0 to 1199 hold every block). */
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
  for (unsigned n = 0; n < 1200; n++) {
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

/* ---- C and Python agree: the store and the card during a callback ---- */

/* Forwards to an inner simulator card; on its first call it uses the trust store the
   read runs with (count, then add anchors: a write) and tries to free its own card. */
struct reentrant {
  zairyu_card *inner;
  zairyu_card *own;
  zairyu_trust_store *store;
  int calls;
  zairyu_result count_rc, add_rc, free_rc;
  size_t count;
};

static uint32_t reentrant_cb(void *ud, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t resp_cap,
                             size_t *resp_len) {
  struct reentrant *s = ud;
  if (s->calls++ == 0) {
    if (s->store) {
      s->count_rc = zairyu_trust_store_count(s->store, &s->count);
      s->add_rc = zairyu_trust_store_add_simulator_test_anchors(s->store);
    }
    if (s->own) s->free_rc = zairyu_card_free(s->own);
  }
  return zairyu_card_transmit(s->inner, cmd, cmd_len, resp, resp_cap, resp_len);
}

/* Before, a read held the store's lock while the callback ran: the callback's write
   deadlocked (the alarm then ends the test instead of letting it hang). */
static void test_trust_store_from_callback(void) {
  struct reentrant s;
  memset(&s, 0, sizeof s);
  s.count_rc = s.add_rc = s.free_rc = 999;
  s.count = 777;
  CHECK_RC(zairyu_trust_store_new(&s.store), ZAIRYU_RESULT_OK);
  zairyu_card *outer = NULL;
  zairyu_read_result *r = NULL;
  size_t count = 0;
  CHECK_RC(zairyu_card_open_simulator("05", NULL, 0, &s.inner), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_open_callback(reentrant_cb, &s, ZAIRYU_TRANSPORT_EXTENDED_LENGTH, &outer), ZAIRYU_RESULT_OK);
  alarm(60);
  CHECK_RC(zairyu_card_read(outer, s.store, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  alarm(0);
  CHECK_RC(s.count_rc, ZAIRYU_RESULT_OK);
  CHECK(s.count == 0);
  CHECK_RC(s.add_rc, ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_trust_store_count(s.store, &count), ZAIRYU_RESULT_OK);
  CHECK(count == 2); /* the callback's write happened, during the read */
  /* The read used the anchors it started with (none): untrusted; the next read
     sees the anchors the callback added. */
  if (r)
    check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_NO_MATCHING_ANCHOR,
                       ZAIRYU_ANCHOR_PROFILE_NONE, ZAIRYU_VERDICT_UNTRUSTED, "untrusted");
  zairyu_read_result_free(r);
  r = NULL;
  CHECK_RC(zairyu_card_read(outer, s.store, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  if (r)
    check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_VERIFIED, ZAIRYU_ANCHOR_PROFILE_TEST,
                       ZAIRYU_VERDICT_TEST, "test");
  zairyu_read_result_free(r);
  CHECK_RC(zairyu_card_free(outer), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_free(s.inner), ZAIRYU_RESULT_OK);
  zairyu_trust_store_free(s.store);
}

/* zairyu_card_free from the card's own callback is refused, and the card stays
   usable (freeing it there was a use after free, which ASan and Valgrind report). */
static void test_free_busy_card(void) {
  struct reentrant s;
  memset(&s, 0, sizeof s);
  s.free_rc = 999;
  zairyu_trust_store *t = sim_trust();
  zairyu_read_result *r = NULL;
  CHECK_RC(zairyu_card_open_simulator("1", NULL, 0, &s.inner), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_open_callback(reentrant_cb, &s, ZAIRYU_TRANSPORT_EXTENDED_LENGTH, &s.own), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_read(s.own, t, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  CHECK_RC(s.free_rc, ZAIRYU_RESULT_HANDLE_BUSY);
  CHECK(s.calls > 10);
  zairyu_read_result_free(r);
  r = NULL;
  /* Still a live card: it reads again (the callback's free is refused again). */
  s.calls = 0;
  s.free_rc = 999;
  CHECK_RC(zairyu_card_read(s.own, t, NUMBER, ZAIRYU_READ_POLICY_TEXT_ONLY, &r), ZAIRYU_RESULT_OK);
  CHECK_RC(s.free_rc, ZAIRYU_RESULT_HANDLE_BUSY);
  zairyu_read_result_free(r);
  CHECK_RC(zairyu_card_free(s.own), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_free(s.inner), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_free(NULL), ZAIRYU_RESULT_OK);
  zairyu_trust_store_free(t);
}

/* ---- verification getters: validity flags, per-field coverage ---- */

/* The JSON value of `"key":` as written (true/false/null/number), or "" if absent. */
static void json_value(const char *j, const char *key, char *out, size_t cap) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = j ? strstr(j, pat) : NULL;
  out[0] = 0;
  if (!p) return;
  p += strlen(pat);
  size_t n = strcspn(p, ",}");
  if (n >= cap) n = cap - 1;
  memcpy(out, p, n);
  out[n] = 0;
}

/* A bool getter against the JSON report: true/false, or NOT_PRESENT for null. */
static void check_flag(const zairyu_read_result *r, const char *j, const char *key,
                       zairyu_result (*get)(const zairyu_read_result *, bool *)) {
  char want[16];
  bool v = false;
  json_value(j, key, want, sizeof want);
  zairyu_result rc = get(r, &v);
  if (strcmp(want, "null") == 0) {
    CHECK_RC(rc, ZAIRYU_RESULT_NOT_PRESENT);
  } else {
    CHECK_RC(rc, ZAIRYU_RESULT_OK);
    CHECK(strcmp(want, v ? "true" : "false") == 0);
  }
}

static void check_validity(const zairyu_read_result *r) {
  char *j = json(r, 0);
  char at[32];
  int64_t when = 0;
  check_flag(r, j, "certificate_valid_now", zairyu_read_result_certificate_valid_now);
  check_flag(r, j, "anchor_valid_now", zairyu_read_result_anchor_valid_now);
  json_value(j, "verified_at_unix", at, sizeof at);
  CHECK_RC(zairyu_read_result_verified_at(r, &when), ZAIRYU_RESULT_OK);
  CHECK(when > 1600000000 && when == strtoll(at, NULL, 10));
  free(j);
}

/* Whether `name` is in the JSON array `"key":[...]`. */
static int json_list_has(const char *j, const char *key, const char *name) {
  char pat[64], item[64];
  snprintf(pat, sizeof pat, "\"%s\":[", key);
  snprintf(item, sizeof item, "\"%s\"", name);
  const char *p = j ? strstr(j, pat) : NULL;
  if (!p) return 0;
  const char *end = strchr(p, ']');
  const char *hit = strstr(p, item);
  return hit && end && hit < end;
}

/* Every name of both lists: the getter agrees with the report's signed_fields. */
static const char *COVERAGE_NAMES[] = {
    "card_type", "card_number", "spec_version", "front", "face", "name", "address", "address_written_on",
    "municipality_code", "comprehensive_permission", "individual_permission", "renewal_application",
    "card_expiry", "birth_date", "sex", "nationality", "status_of_residence", "period_of_stay",
    "permission_type", "permission_date", "work_restriction", "stay_expiry",
    "comprehensive_permission_deadline", "renewal_application_pending", "note_recorded", "note_text"};

static int check_signed_fields(const zairyu_read_result *r) {
  char *j = json(r, 0);
  int signed_count = 0;
  for (size_t i = 0; i < sizeof COVERAGE_NAMES / sizeof COVERAGE_NAMES[0]; i++) {
    const char *name = COVERAGE_NAMES[i];
    bool v = false;
    zairyu_result rc = zairyu_read_result_field_signed(r, name, &v);
    if (json_list_has(j, "signed_fields", name)) {
      CHECK_RC(rc, ZAIRYU_RESULT_OK);
      CHECK(v);
      signed_count++;
    } else if (json_list_has(j, "unsigned_fields", name)) {
      CHECK_RC(rc, ZAIRYU_RESULT_OK);
      CHECK(!v);
    } else {
      CHECK_RC(rc, ZAIRYU_RESULT_NOT_PRESENT);
    }
  }
  bool v = true;
  CHECK_RC(zairyu_read_result_field_signed(r, "no_such_field", &v), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK_RC(zairyu_read_result_field_signed(r, NULL, &v), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_field_signed(r, "face", NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK(v);
  free(j);
  return signed_count;
}

static int is_signed(const zairyu_read_result *r, const char *name) {
  bool v = false;
  zairyu_result rc = zairyu_read_result_field_signed(r, name, &v);
  return rc == ZAIRYU_RESULT_OK ? (v ? 1 : 0) : -(int)rc;
}

static void test_coverage_and_validity(void) {
  zairyu_read_result *r = NULL;
  /* First generation, valid under the test anchor: front and face only. */
  CHECK_RC(read_sim("1", 0, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  CHECK(check_signed_fields(r) == 2);
  CHECK(is_signed(r, "front") == 1 && is_signed(r, "face") == 1);
  CHECK(is_signed(r, "address") == 0 && is_signed(r, "card_type") == 0 && is_signed(r, "card_number") == 0);
  CHECK(is_signed(r, "birth_date") == -(int)ZAIRYU_RESULT_NOT_PRESENT);
  check_validity(r);
  zairyu_read_result_free(r);
  /* Second generation: the printed entries, face and name; never the address image. */
  CHECK_RC(read_sim("05", 0, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  CHECK(check_signed_fields(r) == 12);
  CHECK(is_signed(r, "birth_date") == 1 && is_signed(r, "name") == 1 && is_signed(r, "face") == 1);
  CHECK(is_signed(r, "address") == 0 && is_signed(r, "note_text") == 0);
  CHECK(is_signed(r, "front") == -(int)ZAIRYU_RESULT_NOT_PRESENT);
  check_validity(r);
  zairyu_read_result_free(r);
  /* An invalid signature binds nothing. */
  CHECK_RC(read_sim("1", ZAIRYU_SIM_TAMPERED, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  CHECK(check_signed_fields(r) == 0);
  CHECK(is_signed(r, "face") == 0);
  zairyu_read_result_free(r);
  /* Under-16: no certificate, so no validity to report. */
  CHECK_RC(read_sim("2", ZAIRYU_SIM_UNDER_16, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  bool v = true;
  CHECK_RC(zairyu_read_result_certificate_valid_now(r, &v), ZAIRYU_RESULT_NOT_PRESENT);
  CHECK_RC(zairyu_read_result_anchor_valid_now(r, &v), ZAIRYU_RESULT_NOT_PRESENT);
  CHECK(v);
  CHECK(check_signed_fields(r) == 0);
  check_validity(r);
  zairyu_read_result_free(r);
  /* No anchor: the certificate is judged, the anchor's validity is not known, and a
     valid signature under nobody's key binds nothing. */
  zairyu_trust_store *empty = NULL;
  zairyu_card *c = NULL;
  CHECK_RC(zairyu_trust_store_new(&empty), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_open_simulator("06", NULL, 0, &c), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_read(c, empty, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_read_result_certificate_valid_now(r, &v), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_read_result_anchor_valid_now(r, &v), ZAIRYU_RESULT_NOT_PRESENT);
  CHECK(check_signed_fields(r) == 0);
  check_validity(r);
  zairyu_read_result_free(r);
  CHECK_RC(zairyu_card_free(c), ZAIRYU_RESULT_OK);
  zairyu_trust_store_free(empty);
  CHECK_RC(zairyu_read_result_certificate_valid_now(NULL, &v), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_verified_at(NULL, NULL), ZAIRYU_RESULT_NULL_POINTER);
}

/* ---- card text with NUL and control characters (the NUL rule) ---- */

/* ZAIRYU_SIM_HOSTILE_TEXT's text, as UTF-8 bytes (the header states it). */
static const char HOSTILE[] = "東京都\0千代田区\x1b[2J\u202e霞が関\x7f" "１";

static void check_hostile_field(const zairyu_read_result *r, uint32_t f) {
  char buf[1024];
  uint8_t raw[1024];
  size_t n = 777;
  memset(buf, 'X', sizeof buf);
  /* As a string: refused (a C caller would see "東京都" only), nothing written. */
  CHECK_RC(zairyu_read_result_field(r, f, buf, sizeof buf, &n), ZAIRYU_RESULT_TEXT_CONTAINS_NUL);
  CHECK(n == 777 && buf[0] == 'X');
  CHECK_RC(zairyu_read_result_field(r, f, NULL, 0, &n), ZAIRYU_RESULT_TEXT_CONTAINS_NUL);
  CHECK(n == 777);
  CHECK(last_error_starts_with("text_contains_nul: "));
  /* As bytes with their length: all of it, NUL and controls as read. */
  CHECK_RC(zairyu_read_result_field_raw(r, f, NULL, 0, &n), ZAIRYU_RESULT_BUFFER_TOO_SMALL);
  CHECK(n == sizeof HOSTILE - 1);
  n = 0;
  CHECK_RC(zairyu_read_result_field_raw(r, f, raw, sizeof HOSTILE - 1, &n), ZAIRYU_RESULT_OK);
  CHECK(n == sizeof HOSTILE - 1 && memcmp(raw, HOSTILE, n) == 0);
}

static void test_hostile_text(void) {
  zairyu_read_result *r = NULL;
  CHECK_RC(read_sim("1", ZAIRYU_SIM_HOSTILE_TEXT, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  if (r) {
    check_hostile_field(r, ZAIRYU_FIELD_ADDRESS);
    /* Clean fields of the same card are strings as before; the raw getter agrees. */
    char *s = field(r, ZAIRYU_FIELD_MUNICIPALITY_CODE);
    uint8_t raw[16];
    size_t n = 0;
    CHECK(s && strcmp(s, "131016") == 0);
    free(s);
    CHECK_RC(zairyu_read_result_field_raw(r, ZAIRYU_FIELD_MUNICIPALITY_CODE, raw, sizeof raw, &n), ZAIRYU_RESULT_OK);
    CHECK(n == 6 && memcmp(raw, "131016", 6) == 0);
    CHECK_RC(zairyu_read_result_field_raw(r, ZAIRYU_FIELD_BIRTH_DATE, raw, sizeof raw, &n), ZAIRYU_RESULT_NOT_PRESENT);
    CHECK_RC(zairyu_read_result_field_raw(r, 9999, raw, sizeof raw, &n), ZAIRYU_RESULT_INVALID_ARGUMENT);
    /* The report: escaped in JSON, warned about; the signature is unaffected. */
    char *j = json(r, 0);
    CHECK(j && strstr(j, "\\u0000") != NULL && strstr(j, "\"code\":\"unsafe_characters\"") != NULL);
    CHECK(j && strlen(j) > 1000);
    free(j);
    check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_VERIFIED, ZAIRYU_ANCHOR_PROFILE_TEST,
                       ZAIRYU_VERDICT_TEST, "test");
    zairyu_read_result_free(r);
  }
  r = NULL;
  CHECK_RC(read_sim("05", ZAIRYU_SIM_HOSTILE_TEXT, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  if (r) {
    check_hostile_field(r, ZAIRYU_FIELD_NOTE_TEXT);
    char *j = json(r, 0);
    CHECK(j && strstr(j, "\"code\":\"unsafe_characters\"") != NULL);
    free(j);
    zairyu_read_result_free(r);
  }
  /* Without the flag no field holds a NUL: every field of every type is a string. */
  const char *types[] = {"1", "2", "05", "06"};
  for (int i = 0; i < 4; i++) {
    r = NULL;
    CHECK_RC(read_sim(types[i], 0, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
    for (uint32_t f = 1; f <= 31; f++) {
      size_t n = 0;
      zairyu_result rc = zairyu_read_result_field(r, f, NULL, 0, &n);
      CHECK(rc == ZAIRYU_RESULT_BUFFER_TOO_SMALL || rc == ZAIRYU_RESULT_NOT_PRESENT ||
            rc == ZAIRYU_RESULT_INVALID_ARGUMENT);
    }
    zairyu_read_result_free(r);
  }
}

/* ---- test builds only: the panic boundary, the production path ---- */

static void test_panic_boundary(void) {
#ifdef ZAIRYU_TEST_HOOKS
  zairyu_trust_store *t = sim_trust();
  zairyu_card *c = NULL;
  zairyu_read_result *sentinel = (zairyu_read_result *)&passed; /* never dereferenced */
  zairyu_read_result *r = sentinel;
  CHECK_RC(zairyu_card_open_simulator("05", NULL, 0, &c), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_test_panic_in_next_read(), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_read(c, t, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_PANIC);
  CHECK(r == sentinel);
  CHECK(last_error_starts_with("panic: "));
  /* The unwinding released the card: it reads, and frees, as usual. */
  r = NULL;
  CHECK_RC(zairyu_card_read(c, t, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  zairyu_read_result_free(r);
  CHECK_RC(zairyu_card_free(c), ZAIRYU_RESULT_OK);
  zairyu_trust_store_free(t);
#else
  skipped++;
#endif
}

/* Reads a whole file into a malloc'd buffer. */
static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = malloc(65536);
  *len = buf ? fread(buf, 1, 65536, f) : 0;
  fclose(f);
  return buf;
}

/* The synthetic production roots (sim/fixtures/gen{1,2}-synthetic-production-ca.der), copied
   into ZAIRYU_TEST_PRODUCTION_DIR by run-c-tests.sh. A test build of the library
   (cargo feature test-production-root, -DZAIRYU_TEST_PRODUCTION_ROOT) pins them: a
   card they sign is PRODUCTION. A release library refuses them as unpinned. */
static void test_production_path(void) {
  const char *dir = getenv("ZAIRYU_TEST_PRODUCTION_DIR");
  if (!dir) {
    skipped++;
    return;
  }
  char path[512];
  size_t der_len = 0, count = 0;
  snprintf(path, sizeof path, "%s/gen1-synthetic-production-ca.der", dir);
  uint8_t *gen1_root = slurp(path, &der_len);
  CHECK(gen1_root != NULL && der_len > 500);

  /* The root as a test anchor only: valid, but TEST, never PRODUCTION. */
  zairyu_trust_store *test_only = sim_trust();
  zairyu_card *c = NULL;
  zairyu_read_result *r = NULL;
  CHECK_RC(zairyu_trust_store_add_test_anchor_der(test_only, gen1_root, der_len), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_open_simulator("1", NULL, ZAIRYU_SIM_SYNTHETIC_PRODUCTION_PKI, &c), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_read(c, test_only, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_VERIFIED, ZAIRYU_ANCHOR_PROFILE_TEST,
                     ZAIRYU_VERDICT_TEST, "test");
  zairyu_read_result_free(r);
  r = NULL;
  zairyu_card_free(c);
  c = NULL;

  /* The same root also loaded from the production directory (after the test anchor). */
  zairyu_result load = zairyu_trust_store_load_production_dir(test_only, dir, &count);
#ifdef ZAIRYU_TEST_PRODUCTION_ROOT
  CHECK_RC(load, ZAIRYU_RESULT_OK);
  CHECK(count == 2);
  const char *types[] = {"1", "2", "05", "06"};
  for (int i = 0; i < 4; i++) {
    CHECK_RC(zairyu_card_open_simulator(types[i], NULL, ZAIRYU_SIM_SYNTHETIC_PRODUCTION_PKI, &c), ZAIRYU_RESULT_OK);
    CHECK_RC(zairyu_card_read(c, test_only, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
    /* Preferred over the test anchor with the same key. */
    check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_VERIFIED,
                       ZAIRYU_ANCHOR_PROFILE_PRODUCTION, ZAIRYU_VERDICT_PRODUCTION, "production");
    bool v = false;
    CHECK_RC(zairyu_read_result_anchor_valid_now(r, &v), ZAIRYU_RESULT_OK);
    CHECK(is_signed(r, "face") == 1);
    zairyu_read_result_free(r);
    r = NULL;
    zairyu_card_free(c);
    c = NULL;
  }
  /* A card of the simulator's test PKI under the same store stays TEST. */
  CHECK_RC(read_sim("05", 0, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  check_verification(r, ZAIRYU_SIGNATURE_STATUS_VALID, ZAIRYU_CHAIN_STATUS_VERIFIED, ZAIRYU_ANCHOR_PROFILE_TEST,
                     ZAIRYU_VERDICT_TEST, "test");
  zairyu_read_result_free(r);
#else
  /* A release library: the synthetic roots are not pinned, the store is unchanged. */
  CHECK_RC(load, ZAIRYU_RESULT_VERIFY_UNPINNED_PRODUCTION_ROOT);
  CHECK_RC(zairyu_trust_store_count(test_only, &count), ZAIRYU_RESULT_OK);
  CHECK(count == 3);
#endif
  zairyu_trust_store_free(test_only);
  free(gen1_root);
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

/* ---- address write (AWP v1) ---- */

static const char *WRITE_COUNTER = "c-test-counter";
static const char *NEW_ADDRESS = "東京都新宿区西新宿２－８－１";

/* A fresh directory with a test write PKI and a policy: WRITE_COUNTER may write for
   prefecture 13 (Tokyo) only. */
static int make_authority_dir(char *dir, size_t cap) {
  snprintf(dir, cap, "%s/zairyu-c-write-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir)) return 0;
  if (zairyu_sim_write_pki_generate(dir) != ZAIRYU_RESULT_OK) return 0;
  char path[600];
  snprintf(path, sizeof path, "%s/policy.toml", dir);
  FILE *f = fopen(path, "w");
  if (!f) return 0;
  fprintf(f, "version = 1\n\n[[counter]]\nid = \"%s\"\nmunicipalities = [\"13*\"]\n", WRITE_COUNTER);
  fclose(f);
  return 1;
}

static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char path[600];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static int file_contains(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return strstr(buf, needle) != NULL;
}

static char *receipt_text(const zairyu_write_receipt *r,
                          zairyu_result (*get)(const zairyu_write_receipt *, char *, size_t, size_t *)) {
  size_t need = 0, len = 0;
  if (get(r, NULL, 0, &need) != ZAIRYU_RESULT_BUFFER_TOO_SMALL) return NULL;
  char *s = malloc(need);
  if (get(r, s, need, &len) != ZAIRYU_RESULT_OK || len + 1 != need) {
    free(s);
    return NULL;
  }
  return s;
}

static int is_hex64(const char *s) {
  if (!s || strlen(s) != 64) return 0;
  for (const char *c = s; *c; c++)
    if (!isxdigit((unsigned char)*c) || isupper((unsigned char)*c)) return 0;
  return 1;
}

static zairyu_result receipt_json(const zairyu_write_receipt *r, uint32_t flags, char *buf, size_t cap, size_t *len) {
  return zairyu_write_receipt_json(r, flags, buf, cap, len);
}

/* The card's address field after a text-only read (first generation), or NULL. */
static char *address_of(zairyu_card *c, zairyu_trust_store *t) {
  zairyu_read_result *r = NULL;
  if (zairyu_card_read(c, t, NUMBER, ZAIRYU_READ_POLICY_TEXT_ONLY, &r) != ZAIRYU_RESULT_OK) return NULL;
  char *a = field(r, ZAIRYU_FIELD_ADDRESS);
  zairyu_read_result_free(r);
  return a;
}

/* The card's address image (second generation), malloc'd, or NULL. */
static uint8_t *address_image_of(zairyu_card *c, zairyu_trust_store *t, size_t *len) {
  zairyu_read_result *r = NULL;
  if (zairyu_card_read(c, t, NUMBER, ZAIRYU_READ_POLICY_FULL, &r) != ZAIRYU_RESULT_OK) return NULL;
  size_t need = 0;
  uint8_t *img = NULL;
  if (zairyu_read_result_image(r, ZAIRYU_IMAGE_KIND_ADDRESS, NULL, 0, &need) == ZAIRYU_RESULT_BUFFER_TOO_SMALL) {
    img = malloc(need);
    if (zairyu_read_result_image(r, ZAIRYU_IMAGE_KIND_ADDRESS, img, need, len) != ZAIRYU_RESULT_OK) {
      free(img);
      img = NULL;
    }
  }
  zairyu_read_result_free(r);
  return img;
}

static void check_receipt(const zairyu_write_receipt *rc, uint8_t want_gen) {
  char *content = receipt_text(rc, zairyu_write_receipt_content_sha256);
  char *old = receipt_text(rc, zairyu_write_receipt_old_content_sha256);
  char *card = receipt_text(rc, zairyu_write_receipt_card_number_sha256);
  char *term = receipt_text(rc, zairyu_write_receipt_terminal);
  CHECK(is_hex64(content));
  CHECK(is_hex64(old));
  CHECK(content && old && strcmp(content, old) != 0);
  CHECK(is_hex64(card));
  CHECK(term && strcmp(term, "JPTESTTERM00001") == 0);
  uint8_t gen = 0;
  uint32_t trips = 0;
  uint64_t when = 0;
  CHECK_RC(zairyu_write_receipt_generation(rc, &gen), ZAIRYU_RESULT_OK);
  CHECK(gen == want_gen);
  CHECK_RC(zairyu_write_receipt_round_trips(rc, &trips), ZAIRYU_RESULT_OK);
  CHECK(trips == 4);
  CHECK_RC(zairyu_write_receipt_time(rc, &when), ZAIRYU_RESULT_OK);
  CHECK(when > 1700000000u);
  size_t need = 0, len = 0;
  CHECK_RC(receipt_json(rc, 0, NULL, 0, &need), ZAIRYU_RESULT_BUFFER_TOO_SMALL);
  char *j = malloc(need);
  CHECK_RC(receipt_json(rc, 0, j, need, &len), ZAIRYU_RESULT_OK);
  char want[128];
  snprintf(want, sizeof want, "\"generation\":%u", (unsigned)want_gen);
  CHECK(strstr(j, want) != NULL);
  CHECK(strstr(j, want_gen == 1 ? "\"target\":\"df2_ef01\"" : "\"target\":\"df1_ef04\"") != NULL);
  snprintf(want, sizeof want, "\"content_sha256\":\"%s\"", content ? content : "?");
  CHECK(strstr(j, want) != NULL);
  CHECK(strstr(j, "\"round_trips\":4") != NULL && strstr(j, NUMBER) == NULL && strstr(j, "12345678") == NULL);
  free(j);
  CHECK_RC(receipt_json(rc, 2, NULL, 0, &need), ZAIRYU_RESULT_INVALID_ARGUMENT);
  free(content);
  free(old);
  free(card);
  free(term);
}

static void test_write_address(void) {
  char dir[512];
  if (!make_authority_dir(dir, sizeof dir)) {
    failed++;
    fprintf(stderr, "FAIL: cannot make a write-authority directory\n");
    return;
  }
  zairyu_trust_store *t = sim_trust();
  zairyu_authority *a = NULL;
  CHECK_RC(zairyu_authority_open_dir(dir, WRITE_COUNTER, &a), ZAIRYU_RESULT_OK);
  zairyu_address_record rec = {"20260501", "131041", NEW_ADDRESS, "clerk-007"};

  /* First generation: written, confirmed, and the normal read shows it. */
  const char *gen1[] = {"1", "2"};
  for (size_t i = 0; i < 2; i++) {
    zairyu_card *c = NULL;
    zairyu_write_receipt *rc = NULL;
    CHECK_RC(zairyu_card_open_simulator_write(gen1[i], NULL, dir, 0, &c), ZAIRYU_RESULT_OK);
    char *before = address_of(c, t);
    CHECK(before && strcmp(before, NEW_ADDRESS) != 0);
    CHECK_RC(zairyu_card_write_address(c, NUMBER, &rec, a, &rc), ZAIRYU_RESULT_OK);
    if (rc) check_receipt(rc, 1);
    char *after = address_of(c, t);
    CHECK(after && strcmp(after, NEW_ADDRESS) == 0);
    zairyu_read_result *r = NULL;
    CHECK_RC(zairyu_card_read(c, t, NUMBER, ZAIRYU_READ_POLICY_TEXT_ONLY, &r), ZAIRYU_RESULT_OK);
    char *code = field(r, ZAIRYU_FIELD_MUNICIPALITY_CODE);
    CHECK(code && strcmp(code, "131041") == 0);
    free(code);
    zairyu_read_result_free(r);
    free(before);
    free(after);
    zairyu_write_receipt_free(rc);
    CHECK_RC(zairyu_card_free(c), ZAIRYU_RESULT_OK);
  }

  /* Second generation: the address image the authority rendered replaces the old one. */
  {
    zairyu_card *c = NULL;
    zairyu_write_receipt *rc = NULL;
    CHECK_RC(zairyu_card_open_simulator_write("05", NULL, dir, 0, &c), ZAIRYU_RESULT_OK);
    size_t before_len = 0, after_len = 0;
    uint8_t *before = address_image_of(c, t, &before_len);
    CHECK(before != NULL && before_len > 8);
    CHECK_RC(zairyu_card_write_address(c, NUMBER, &rec, a, &rc), ZAIRYU_RESULT_OK);
    if (rc) check_receipt(rc, 2);
    uint8_t *after = address_image_of(c, t, &after_len);
    CHECK(after != NULL && after_len > 8 && after_len <= 2500);
    CHECK(after && memcmp(after, "II*\0", 4) == 0);
    CHECK(before && after && (before_len != after_len || memcmp(before, after, after_len) != 0));
    free(before);
    free(after);
    zairyu_write_receipt_free(rc);
    zairyu_card_free(c);
  }

  /* Refusals: nothing is written, each has its code, and the card keeps its address. */
  zairyu_card *c = NULL;
  zairyu_write_receipt *rc = NULL;
  CHECK_RC(zairyu_card_open_simulator_write("1", NULL, dir, 0, &c), ZAIRYU_RESULT_OK);
  char *before = address_of(c, t);
  zairyu_address_record osaka = {"20260501", "271004", "大阪府大阪市北区中之島１－３－２０", "clerk-007"};
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &osaka, a, &rc), ZAIRYU_RESULT_POLICY_REFUSED);
  CHECK(last_error_starts_with("policy_refused: [policy_municipality_not_allowed]"));
  CHECK(rc == NULL);
  zairyu_address_record bad_text = {"20260501", "131041", "東京都\x1b[2J新宿区", "clerk-007"};
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &bad_text, a, &rc), ZAIRYU_RESULT_RECORD_INVALID);
  CHECK(last_error_starts_with("record_invalid: [record_invalid]"));
  zairyu_address_record bad_date = {"20261340", "131041", NEW_ADDRESS, "clerk-007"};
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &bad_date, a, &rc), ZAIRYU_RESULT_RECORD_INVALID);
  zairyu_address_record bad_code = {"20260501", "131047", NEW_ADDRESS, "clerk-007"};
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &bad_code, a, &rc), ZAIRYU_RESULT_RECORD_INVALID);
  CHECK_RC(zairyu_card_write_address(c, "AB12345678CE", &rec, a, &rc), ZAIRYU_RESULT_WRONG_CARD_NUMBER);
  CHECK(last_error_starts_with("wrong_card_number: "));
  CHECK_RC(zairyu_card_write_address(c, "AB1234", &rec, a, &rc), ZAIRYU_RESULT_INPUT_BAD_CARD_NUMBER);
  CHECK(rc == NULL);
  char *after = address_of(c, t);
  CHECK(before && after && strcmp(before, after) == 0);
  free(before);
  free(after);
  /* Every attempt that reached the authority is in its audit log. */
  char audit[600];
  snprintf(audit, sizeof audit, "%s/audit.jsonl", dir);
  CHECK(file_contains(audit, "policy_municipality_not_allowed"));
  CHECK(file_contains(audit, "record_invalid"));

  /* A counter the policy does not know. */
  zairyu_authority *stranger = NULL;
  CHECK_RC(zairyu_authority_open_dir(dir, "unknown-counter", &stranger), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &rec, stranger, &rc), ZAIRYU_RESULT_POLICY_REFUSED);
  CHECK(last_error_starts_with("policy_refused: [policy_unknown_counter]"));
  CHECK_RC(zairyu_authority_free(stranger), ZAIRYU_RESULT_OK);

  /* A card without the write application. */
  zairyu_card *plain = NULL;
  CHECK_RC(zairyu_card_open_simulator("1", NULL, 0, &plain), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_write_address(plain, NUMBER, &rec, a, &rc), ZAIRYU_RESULT_WRITE_NOT_SUPPORTED);
  zairyu_card_free(plain);

  /* NULL and invalid arguments: refused before any APDU, out untouched. */
  zairyu_address_record holes[4] = {rec, rec, rec, rec};
  holes[0].date = NULL, holes[1].municipality_code = NULL, holes[2].address = NULL, holes[3].operator_id = NULL;
  for (int i = 0; i < 4; i++) CHECK_RC(zairyu_card_write_address(c, NUMBER, &holes[i], a, &rc), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_write_address(NULL, NUMBER, &rec, a, &rc), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_write_address(c, NULL, &rec, a, &rc), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_write_address(c, NUMBER, NULL, a, &rc), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &rec, NULL, &rc), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &rec, a, NULL), ZAIRYU_RESULT_NULL_POINTER);
  zairyu_address_record not_utf8 = {"20260501", "131041", "\xff\xfe", "clerk-007"};
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &not_utf8, a, &rc), ZAIRYU_RESULT_INVALID_UTF8);
  CHECK(rc == NULL);
  zairyu_authority *none = NULL;
  CHECK_RC(zairyu_authority_open_dir(NULL, WRITE_COUNTER, &none), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_authority_open_dir(dir, NULL, &none), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_authority_open_dir(dir, WRITE_COUNTER, NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_authority_open_dir("/nonexistent/zairyu", WRITE_COUNTER, &none), ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED);
  CHECK(last_error_starts_with("authority_setup_failed: "));
  CHECK(none == NULL);
  CHECK_RC(zairyu_sim_write_pki_generate(dir), ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED); /* never overwrites */
  CHECK_RC(zairyu_sim_write_pki_generate(NULL), ZAIRYU_RESULT_NULL_POINTER);
  zairyu_card *nc = NULL;
  CHECK_RC(zairyu_card_open_simulator_write("1", NULL, "/nonexistent/zairyu", 0, &nc), ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED);
  CHECK_RC(zairyu_card_open_simulator_write("1", NULL, NULL, 0, &nc), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_card_open_simulator_write("9", NULL, dir, 0, &nc), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK_RC(zairyu_card_open_simulator_write("1", NULL, dir, 1u << 20, &nc), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK(nc == NULL);
  char buf[80];
  size_t n = 0;
  uint8_t g = 0;
  uint32_t u = 0;
  uint64_t w = 0;
  CHECK_RC(zairyu_write_receipt_content_sha256(NULL, buf, sizeof buf, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_write_receipt_old_content_sha256(NULL, buf, sizeof buf, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_write_receipt_card_number_sha256(NULL, buf, sizeof buf, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_write_receipt_terminal(NULL, buf, sizeof buf, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_write_receipt_generation(NULL, &g), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_write_receipt_round_trips(NULL, &u), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_write_receipt_time(NULL, &w), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_write_receipt_json(NULL, 0, buf, sizeof buf, &n), ZAIRYU_RESULT_NULL_POINTER);
  zairyu_write_receipt_free(NULL);
  CHECK_RC(zairyu_authority_free(NULL), ZAIRYU_RESULT_OK);

  /* A second write on the same card succeeds (the first one's session is over). */
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &rec, a, &rc), ZAIRYU_RESULT_OK);
  {
    char small[8];
    size_t need = 0;
    CHECK_RC(zairyu_write_receipt_terminal(rc, small, sizeof small, &need), ZAIRYU_RESULT_BUFFER_TOO_SMALL);
    CHECK(need == strlen("JPTESTTERM00001") + 1);
    CHECK_RC(zairyu_write_receipt_generation(rc, NULL), ZAIRYU_RESULT_NULL_POINTER);
  }
  zairyu_write_receipt_free(rc);
  zairyu_card_free(c);
  CHECK(file_contains(audit, "\"written\"") || file_contains(audit, "written"));

  CHECK_RC(zairyu_authority_free(a), ZAIRYU_RESULT_OK);
  zairyu_trust_store_free(t);
  remove_dir(dir);
}

/* A callback card writes when it has a reset callback; a reset that fails leaves the
   write unconfirmed (the card holds the new content all the same). */
struct reset_count {
  struct forward fwd;
  int resets;
  uint32_t reset_code;
};

static uint32_t count_reset_cb(void *ud) {
  struct reset_count *r = ud;
  r->resets++;
  return r->reset_code;
}

static void test_write_via_callback(void) {
  char dir[512];
  if (!make_authority_dir(dir, sizeof dir)) {
    failed++;
    fprintf(stderr, "FAIL: cannot make a write-authority directory\n");
    return;
  }
  zairyu_trust_store *t = sim_trust();
  zairyu_authority *a = NULL;
  CHECK_RC(zairyu_authority_open_dir(dir, WRITE_COUNTER, &a), ZAIRYU_RESULT_OK);
  zairyu_address_record rec = {"20260501", "131041", NEW_ADDRESS, "clerk-007"};
  zairyu_write_receipt *rc = NULL;

  struct reset_count r;
  memset(&r, 0, sizeof r);
  CHECK_RC(zairyu_card_open_simulator_write("1", NULL, dir, 0, &r.fwd.inner), ZAIRYU_RESULT_OK);
  zairyu_card *no_reset = NULL;
  CHECK_RC(zairyu_card_open_callback(forward_cb, &r.fwd, ZAIRYU_TRANSPORT_EXTENDED_LENGTH, &no_reset), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_write_address(no_reset, NUMBER, &rec, a, &rc), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK(r.fwd.calls == 0);
  zairyu_card_free(no_reset);

  zairyu_card *outer = NULL;
  CHECK_RC(zairyu_card_open_callback_with_reset(forward_cb, count_reset_cb, &r, ZAIRYU_TRANSPORT_EXTENDED_LENGTH, &outer),
           ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_write_address(outer, NUMBER, &rec, a, &rc), ZAIRYU_RESULT_OK);
  CHECK(r.resets == 1 && r.fwd.calls > 10);
  zairyu_write_receipt_free(rc);
  rc = NULL;

  zairyu_address_record other = {"20260502", "131016", "東京都千代田区霞が関１－１－１", "clerk-007"};
  r.reset_code = ZAIRYU_RESULT_TRANSPORT_CARD_REMOVED;
  CHECK_RC(zairyu_card_write_address(outer, NUMBER, &other, a, &rc), ZAIRYU_RESULT_WRITE_UNCONFIRMED);
  CHECK(last_error_starts_with("write_unconfirmed: [transport_card_removed]"));
  CHECK(r.resets == 2 && rc == NULL);
  char *now = address_of(r.fwd.inner, t);
  CHECK(now && strcmp(now, other.address) == 0);
  free(now);
  CHECK_RC(zairyu_card_open_callback_with_reset(NULL, count_reset_cb, &r, 0, &outer), ZAIRYU_RESULT_NULL_POINTER);
  zairyu_card_free(outer);
  zairyu_card_free(r.fwd.inner);
  CHECK_RC(zairyu_authority_free(a), ZAIRYU_RESULT_OK);
  zairyu_trust_store_free(t);
  remove_dir(dir);
}

/* ---- address write through the write authority service (HTTPS, mutual TLS) ---- */

/* A loopback URL where nothing listens: a port the kernel gave and took back. */
static int dead_url(char *buf, size_t cap) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0;
  close(fd);
  if (ok) snprintf(buf, cap, "https://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
  return ok;
}

/* Opens the service's link as `counter` (tls/COUNTER.{pem,key} of the deployment),
   trusting `ca` (a file under tls/). */
static zairyu_result open_remote_as(const char *const *urls, size_t n, const char *dir, const char *counter,
                                    const char *ca, zairyu_authority **out) {
  char cert[600], key[600], ca_path[600];
  snprintf(cert, sizeof cert, "%s/tls/%s.pem", dir, counter);
  snprintf(key, sizeof key, "%s/tls/%s.key", dir, counter);
  snprintf(ca_path, sizeof ca_path, "%s/tls/%s", dir, ca);
  return zairyu_authority_open_remote(urls, n, cert, key, ca_path, out);
}

/* ZAIRYU_TEST_AUTHORITY_URL: a `zairyu-authority serve` on 127.0.0.1 of the
   deployment ZAIRYU_TEST_AUTHORITY_DIR (`zairyu-authority init`), whose policy lets
   counter-1 write everywhere, counter-2 for Tokyo (13*) only, and does not name
   counter-3 (ffi/run-c-tests.sh starts it). */
static void test_write_remote(void) {
  const char *url = getenv("ZAIRYU_TEST_AUTHORITY_URL");
  const char *dir = getenv("ZAIRYU_TEST_AUTHORITY_DIR");
  if (!url || !dir) {
    skipped++;
    return;
  }
  char pki[600], dead[64];
  snprintf(pki, sizeof pki, "%s/pki", dir);
  CHECK(dead_url(dead, sizeof dead));
  const char *one[] = {url};
  zairyu_trust_store *t = sim_trust();
  zairyu_authority *a = NULL;
  CHECK_RC(open_remote_as(one, 1, dir, "counter-1", "ca.pem", &a), ZAIRYU_RESULT_OK);
  zairyu_address_record rec = {"20260501", "131041", NEW_ADDRESS, "clerk-007"};

  /* Both generations written through the service, confirmed, the receipt complete. */
  {
    zairyu_card *c = NULL;
    zairyu_write_receipt *rc = NULL;
    CHECK_RC(zairyu_card_open_simulator_write("1", NULL, pki, 0, &c), ZAIRYU_RESULT_OK);
    CHECK_RC(zairyu_card_write_address(c, NUMBER, &rec, a, &rc), ZAIRYU_RESULT_OK);
    if (rc) check_receipt(rc, 1);
    char *after = address_of(c, t);
    CHECK(after && strcmp(after, NEW_ADDRESS) == 0);
    free(after);
    zairyu_write_receipt_free(rc);
    zairyu_card_free(c);
  }
  {
    zairyu_card *c = NULL;
    zairyu_write_receipt *rc = NULL;
    CHECK_RC(zairyu_card_open_simulator_write("05", NULL, pki, 0, &c), ZAIRYU_RESULT_OK);
    CHECK_RC(zairyu_card_write_address(c, NUMBER, &rec, a, &rc), ZAIRYU_RESULT_OK);
    if (rc) check_receipt(rc, 2);
    zairyu_write_receipt_free(rc);
    zairyu_card_free(c);
  }

  /* The service's refusals: their 10xx codes, the stable code in the detail, and the
     card keeps its address. */
  zairyu_card *c = NULL;
  zairyu_write_receipt *rc = NULL;
  CHECK_RC(zairyu_card_open_simulator_write("1", NULL, pki, 0, &c), ZAIRYU_RESULT_OK);
  char *before = address_of(c, t);
  zairyu_address_record osaka = {"20260501", "271004", "大阪府大阪市北区中之島１－３－２０", "clerk-007"};
  zairyu_authority *tokyo_only = NULL, *stranger = NULL, *unreachable = NULL, *wrong_ca = NULL;
  CHECK_RC(open_remote_as(one, 1, dir, "counter-2", "ca.pem", &tokyo_only), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &osaka, tokyo_only, &rc), ZAIRYU_RESULT_POLICY_REFUSED);
  CHECK(last_error_starts_with("policy_refused: [policy_municipality_not_allowed]"));
  CHECK_RC(open_remote_as(one, 1, dir, "counter-3", "ca.pem", &stranger), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &rec, stranger, &rc), ZAIRYU_RESULT_POLICY_REFUSED);
  CHECK(last_error_starts_with("policy_refused: [policy_unknown_counter]"));
  zairyu_address_record no_such_day = {"20261301", "131041", NEW_ADDRESS, "clerk-007"};
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &no_such_day, a, &rc), ZAIRYU_RESULT_RECORD_INVALID);

  /* An authority that cannot be reached, or whose certificate does not chain to the
     CA given: unavailable, nothing written. */
  const char *nowhere[] = {dead};
  CHECK_RC(open_remote_as(nowhere, 1, dir, "counter-1", "ca.pem", &unreachable), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &osaka, unreachable, &rc), ZAIRYU_RESULT_AUTHORITY_UNAVAILABLE);
  CHECK(last_error_starts_with("authority_unavailable: [authority_unavailable]"));
  CHECK_RC(open_remote_as(one, 1, dir, "counter-1", "counter-1.pem", &wrong_ca), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &osaka, wrong_ca, &rc), ZAIRYU_RESULT_AUTHORITY_UNAVAILABLE);
  CHECK(rc == NULL);
  char *now = address_of(c, t);
  CHECK(before && now && strcmp(before, now) == 0);
  free(now);

  /* Two URLs, the first dead: the same message goes to the next one. */
  const char *failover[] = {dead, url};
  zairyu_authority *pair = NULL;
  CHECK_RC(open_remote_as(failover, 2, dir, "counter-1", "ca.pem", &pair), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_card_write_address(c, NUMBER, &osaka, pair, &rc), ZAIRYU_RESULT_OK);
  now = address_of(c, t);
  CHECK(now && strcmp(now, osaka.address) == 0);
  free(now);
  zairyu_write_receipt_free(rc);

  /* Set-up errors. */
  zairyu_authority *none = NULL;
  char cert[600];
  snprintf(cert, sizeof cert, "%s/tls/counter-1.pem", dir);
  const char *holes[] = {url, NULL};
  const char *http[] = {"http://127.0.0.1:1"};
  CHECK_RC(open_remote_as(one, 0, dir, "counter-1", "ca.pem", &none), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK_RC(open_remote_as(one, ZAIRYU_AUTHORITY_MAX_URLS + 1, dir, "counter-1", "ca.pem", &none),
           ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK_RC(open_remote_as(NULL, 1, dir, "counter-1", "ca.pem", &none), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(open_remote_as(holes, 2, dir, "counter-1", "ca.pem", &none), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(open_remote_as(one, 1, dir, "counter-1", "ca.pem", NULL), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_authority_open_remote(one, 1, NULL, cert, cert, &none), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_authority_open_remote(one, 1, cert, NULL, cert, &none), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_authority_open_remote(one, 1, cert, cert, NULL, &none), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(open_remote_as(http, 1, dir, "counter-1", "ca.pem", &none), ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED);
  CHECK(last_error_starts_with("authority_setup_failed: [remote_url_invalid]"));
  CHECK_RC(open_remote_as(one, 1, dir, "no-such-counter", "ca.pem", &none), ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED);
  CHECK(last_error_starts_with("authority_setup_failed: [remote_file_unreadable]"));
  /* A certificate where the key should be. */
  CHECK_RC(zairyu_authority_open_remote(one, 1, cert, cert, cert, &none), ZAIRYU_RESULT_AUTHORITY_SETUP_FAILED);
  CHECK(last_error_starts_with("authority_setup_failed: [remote_pem_invalid]"));
  CHECK(none == NULL);

  free(before);
  zairyu_card_free(c);
  CHECK_RC(zairyu_authority_free(pair), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_authority_free(wrong_ca), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_authority_free(unreachable), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_authority_free(stranger), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_authority_free(tokyo_only), ZAIRYU_RESULT_OK);
  CHECK_RC(zairyu_authority_free(a), ZAIRYU_RESULT_OK);
  zairyu_trust_store_free(t);
}

/* ---- evidence (issue 14): PNG, report page, evidence files, export ---- */

/* The first occurrence of needle (m bytes) in hay (n bytes), or NULL (memmem is not C11). */
static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const void *needle, size_t m) {
  for (size_t i = 0; m <= n && i <= n - m; i++)
    if (memcmp(hay + i, needle, m) == 0) return hay + i;
  return NULL;
}

/* A big-endian (le = 0) or little-endian number of n bytes. */
static uint32_t num(const uint8_t *p, int n, int le) {
  uint32_t v = 0;
  for (int i = 0; i < n; i++) v = le ? v | (uint32_t)p[i] << (8 * i) : v << 8 | p[i];
  return v;
}

/* Width and height from the chip image's own header, read here independently of
   the library's decoders: TIFF tags 256/257, the JP2 'ihdr' box, or a codestream's SIZ. */
static int source_size(const uint8_t *b, size_t n, uint32_t *w, uint32_t *h) {
  *w = *h = 0;
  if (n >= 8 && (memcmp(b, "II*", 4) == 0 || memcmp(b, "MM\0*", 4) == 0)) {
    int le = b[0] == 'I';
    uint32_t ifd = num(b + 4, 4, le);
    if (ifd + 2 > n) return 0;
    uint32_t count = num(b + ifd, 2, le);
    for (uint32_t i = 0; i < count && ifd + 2 + 12 * (i + 1) <= n; i++) {
      const uint8_t *e = b + ifd + 2 + 12 * i;
      uint32_t tag = num(e, 2, le), type = num(e + 2, 2, le);
      uint32_t v = type == 3 ? num(e + 8, 2, le) : num(e + 8, 4, le);
      if (tag == 256) *w = v;
      if (tag == 257) *h = v;
    }
  } else if (n >= 4 && memcmp(b, "\xFF\x4F\xFF\x51", 4) == 0 && n >= 24) {
    *w = num(b + 8, 4, 0) - num(b + 16, 4, 0);
    *h = num(b + 12, 4, 0) - num(b + 20, 4, 0);
  } else {
    for (size_t i = 4; i + 12 <= n; i++) {
      if (memcmp(b + i, "ihdr", 4) == 0) {
        *h = num(b + i + 4, 4, 0);
        *w = num(b + i + 8, 4, 0);
        break;
      }
    }
  }
  return *w > 0 && *h > 0;
}

/* The bytes of an image getter (raw or PNG), size first; NULL and *rc on failure. */
static uint8_t *image_bytes(const zairyu_read_result *r, uint32_t kind, int png, size_t *len, zairyu_result *rc) {
  size_t need = 0;
  zairyu_result q = png ? zairyu_read_result_image_png(r, kind, NULL, 0, &need)
                        : zairyu_read_result_image(r, kind, NULL, 0, &need);
  if (q != ZAIRYU_RESULT_BUFFER_TOO_SMALL) {
    *rc = q;
    return NULL;
  }
  uint8_t *buf = malloc(need);
  *rc = png ? zairyu_read_result_image_png(r, kind, buf, need, len) : zairyu_read_result_image(r, kind, buf, need, len);
  if (*rc != ZAIRYU_RESULT_OK || *len != need) {
    free(buf);
    return NULL;
  }
  return buf;
}

static char *report_html(const zairyu_read_result *r) {
  size_t need = 0, len = 0;
  if (zairyu_read_result_report_html(r, NULL, 0, &need) != ZAIRYU_RESULT_BUFFER_TOO_SMALL) return NULL;
  char *s = malloc(need);
  if (zairyu_read_result_report_html(r, s, need, &len) != ZAIRYU_RESULT_OK || strlen(s) != len) {
    free(s);
    return NULL;
  }
  return s;
}

static uint8_t *evidence(const zairyu_read_result *r, const zairyu_evidence_options *o, size_t *len) {
  size_t need = 0;
  if (zairyu_read_result_evidence_json(r, o, NULL, 0, &need) != ZAIRYU_RESULT_BUFFER_TOO_SMALL) return NULL;
  uint8_t *buf = malloc(need);
  if (zairyu_read_result_evidence_json(r, o, buf, need, len) != ZAIRYU_RESULT_OK || *len != need) {
    free(buf);
    return NULL;
  }
  return buf;
}

static char *export_rows(const zairyu_evidence_verdict *const *v, size_t n, uint32_t format, uint32_t flags,
                         zairyu_result *rc) {
  size_t need = 0, len = 0;
  *rc = zairyu_export_rows(v, n, format, flags, NULL, 0, &need);
  if (*rc != ZAIRYU_RESULT_BUFFER_TOO_SMALL) return NULL;
  char *s = malloc(need);
  *rc = zairyu_export_rows(v, n, format, flags, s, need, &len);
  if (*rc != ZAIRYU_RESULT_OK || len + 1 != need) {
    free(s);
    return NULL;
  }
  return s;
}

/* A malformed chip image (no simulated card holds one: the test hook puts one into a
   copy of a result) is a typed result code, and breaks no other getter. */
static void test_malformed_image(void) {
#ifdef ZAIRYU_TEST_HOOKS
  static const struct {
    const char *bytes;
    size_t len;
    zairyu_result want;
    const char *detail;
  } cases[] = {
      {"II*\0\x08\0\0\0\0\0", 10, ZAIRYU_RESULT_IMAGE_MALFORMED, "image_malformed: malformed: the front image"},
      {"\xFF\x4F\xFF\x51\0", 5, ZAIRYU_RESULT_IMAGE_MALFORMED, "image_malformed: malformed"},
      {"GIF89a-not-a-chip-image", 23, ZAIRYU_RESULT_IMAGE_UNKNOWN_FORMAT, "image_unknown_format: unknown_format"},
  };
  zairyu_read_result *r = NULL;
  CHECK_RC(read_sim("1", 0, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    zairyu_read_result *forged = NULL;
    CHECK_RC(zairyu_test_read_result_with_image(r, ZAIRYU_IMAGE_KIND_FRONT, (const uint8_t *)cases[c].bytes,
                                                cases[c].len, &forged),
             ZAIRYU_RESULT_OK);
    if (!forged) continue;
    size_t len = 77;
    uint8_t buf[16];
    CHECK_RC(zairyu_read_result_image_png(forged, ZAIRYU_IMAGE_KIND_FRONT, NULL, 0, &len), cases[c].want);
    CHECK(last_error_starts_with(cases[c].detail));
    CHECK_RC(zairyu_read_result_image_png(forged, ZAIRYU_IMAGE_KIND_FRONT, buf, sizeof buf, &len), cases[c].want);
    CHECK(len == 77);
    /* The raw bytes, the other image, the report, the page and the evidence still work. */
    size_t raw_len = 0;
    zairyu_result rc;
    uint8_t *raw = image_bytes(forged, ZAIRYU_IMAGE_KIND_FRONT, 0, &raw_len, &rc);
    /* (as stored: without trailing zero fill) */
    CHECK(raw && raw_len >= 4 && raw_len <= cases[c].len && memcmp(raw, cases[c].bytes, raw_len) == 0);
    free(raw);
    uint8_t *face = image_bytes(forged, ZAIRYU_IMAGE_KIND_FACE, 1, &raw_len, &rc);
    CHECK(face != NULL);
    free(face);
    char *j = json(forged, 0);
    CHECK(j != NULL && strstr(j, "\"card_type\":\"1\"") != NULL);
    free(j);
    char *html = report_html(forged);
    CHECK(html != NULL && strstr(html, "data-verdict=") != NULL);
    free(html);
    uint8_t *ev = evidence(forged, NULL, &raw_len);
    CHECK(ev != NULL);
    free(ev);
    zairyu_read_result_free(forged);
  }
  zairyu_read_result *none = NULL;
  CHECK_RC(zairyu_test_read_result_with_image(r, ZAIRYU_IMAGE_KIND_NAME, (const uint8_t *)"x", 1, &none),
           ZAIRYU_RESULT_NOT_PRESENT);
  CHECK(none == NULL);
  zairyu_read_result_free(r);
#else
  skipped++;
#endif
}

static void test_images_as_png(void) {
  static const struct {
    const char *type;
    uint32_t kinds[3];
    size_t n;
    uint32_t absent;
  } cases[] = {
      {"1", {ZAIRYU_IMAGE_KIND_FRONT, ZAIRYU_IMAGE_KIND_FACE}, 2, ZAIRYU_IMAGE_KIND_NAME},
      {"05", {ZAIRYU_IMAGE_KIND_NAME, ZAIRYU_IMAGE_KIND_FACE, ZAIRYU_IMAGE_KIND_ADDRESS}, 3, ZAIRYU_IMAGE_KIND_FRONT},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    zairyu_read_result *r = NULL;
    CHECK_RC(read_sim(cases[c].type, 0, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
    for (size_t k = 0; k < cases[c].n; k++) {
      size_t raw_len = 0, png_len = 0;
      zairyu_result rc;
      uint8_t *raw = image_bytes(r, cases[c].kinds[k], 0, &raw_len, &rc);
      uint8_t *png = image_bytes(r, cases[c].kinds[k], 1, &png_len, &rc);
      CHECK(raw != NULL && png != NULL);
      if (raw && png) {
        uint32_t w = 0, h = 0;
        CHECK(source_size(raw, raw_len, &w, &h));
        CHECK(png_len > 33 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
        CHECK(num(png + 8, 4, 0) == 13 && memcmp(png + 12, "IHDR", 4) == 0);
        if (num(png + 16, 4, 0) != w || num(png + 20, 4, 0) != h) {
          failed++;
          fprintf(stderr, "FAIL: type %s image %u: PNG %ux%u, the image's header %ux%u\n", cases[c].type,
                  cases[c].kinds[k], num(png + 16, 4, 0), num(png + 20, 4, 0), w, h);
        } else {
          passed++;
        }
        /* Too small by one byte: nothing written, the size needed reported. */
        uint8_t *small = malloc(png_len);
        memset(small, 0xAB, png_len);
        size_t need = 0;
        CHECK_RC(zairyu_read_result_image_png(r, cases[c].kinds[k], small, png_len - 1, &need),
                 ZAIRYU_RESULT_BUFFER_TOO_SMALL);
        CHECK(need == png_len && small[0] == 0xAB);
        free(small);
      }
      free(raw);
      free(png);
    }
    /* An image of the other generation; kinds that are none. */
    size_t len = 123;
    uint8_t buf[64];
    CHECK_RC(zairyu_read_result_image_png(r, cases[c].absent, buf, sizeof buf, &len), ZAIRYU_RESULT_NOT_PRESENT);
    CHECK_RC(zairyu_read_result_image_png(r, 0, buf, sizeof buf, &len), ZAIRYU_RESULT_INVALID_ARGUMENT);
    CHECK_RC(zairyu_read_result_image_png(r, 99, buf, sizeof buf, &len), ZAIRYU_RESULT_INVALID_ARGUMENT);
    CHECK(len == 123);
    CHECK_RC(zairyu_read_result_image_png(NULL, ZAIRYU_IMAGE_KIND_FACE, buf, sizeof buf, &len),
             ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_read_result_image_png(r, ZAIRYU_IMAGE_KIND_FACE, buf, sizeof buf, NULL),
             ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_read_result_image_png(r, ZAIRYU_IMAGE_KIND_FACE, NULL, 10, &len), ZAIRYU_RESULT_NULL_POINTER);
    zairyu_read_result_free(r);
  }
  test_malformed_image();
  /* An under-16 card has no face photo. */
  zairyu_read_result *r = NULL;
  CHECK_RC(read_sim("1", ZAIRYU_SIM_UNDER_16, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  size_t len = 0;
  CHECK_RC(zairyu_read_result_image_png(r, ZAIRYU_IMAGE_KIND_FACE, NULL, 0, &len), ZAIRYU_RESULT_NOT_PRESENT);
  zairyu_read_result_free(r);
}

static void test_report_html(void) {
  static const struct {
    const char *type;
    uint32_t flags;
    const char *verdict;
    const char *words;
  } cases[] = {
      {"1", 0, "data-verdict=\"test\"", "テスト用のカードです"},
      {"05", 0, "data-verdict=\"test\"", "This is NOT a genuine card."},
      {"1", ZAIRYU_SIM_TAMPERED, "data-verdict=\"invalid\"", "偽造・改ざんの疑いがあります"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    zairyu_read_result *r = NULL;
    CHECK_RC(read_sim(cases[c].type, cases[c].flags, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
    char *html = report_html(r);
    CHECK(html != NULL);
    if (html) {
      CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0);
      CHECK(strstr(html, cases[c].verdict) != NULL);
      CHECK(strstr(html, cases[c].words) != NULL);
      CHECK(strstr(html, "src=\"data:image/png;base64,iVBORw0KGgo") != NULL);
      CHECK(strstr(html, NUMBER) == NULL);
    }
    free(html);
    zairyu_read_result_free(r);
  }
  size_t len = 0;
  char buf[8];
  CHECK_RC(zairyu_read_result_report_html(NULL, buf, sizeof buf, &len), ZAIRYU_RESULT_NULL_POINTER);
}

static void test_evidence_and_export(void) {
  zairyu_trust_store *t = sim_trust();
  zairyu_read_result *r = NULL;
  CHECK_RC(read_sim("05", 0, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  zairyu_evidence_options o = {0};
  o.card_number = NUMBER;
  o.flags = ZAIRYU_EVIDENCE_CREATED_AT;
  o.created_at_unix = 1760000000;
  size_t len = 0;
  uint8_t *ev = evidence(r, &o, &len);
  CHECK(ev != NULL && len > 1000 && ev[len - 1] == '\n');
  if (ev) {
    /* Redacted by default; accepted as written; one changed byte rejected. */
    CHECK(find_bytes(ev, len, NUMBER, strlen(NUMBER)) == NULL);
    CHECK(find_bytes(ev, len, "\"created_at\":\"2025-10-09T08:53:20Z\"", 35) != NULL);
    bool accepted = false;
    zairyu_evidence_verdict *v = NULL, *bad = NULL;
    CHECK_RC(zairyu_verify_evidence(ev, len, t, 0, &accepted, &v), ZAIRYU_RESULT_OK);
    CHECK(accepted);
    zairyu_verdict verdict = ZAIRYU_VERDICT_PRODUCTION;
    CHECK_RC(zairyu_evidence_verdict_verdict(v, &verdict), ZAIRYU_RESULT_OK);
    CHECK(verdict == ZAIRYU_VERDICT_TEST);
    char j[65536];
    size_t jl = 0;
    CHECK_RC(zairyu_evidence_verdict_json(v, 0, j, sizeof j, &jl), ZAIRYU_RESULT_OK);
    CHECK(strncmp(j, "{\"accepted\":true,", 17) == 0 || strstr(j, "\"accepted\":true") != NULL);
    CHECK(strstr(j, "\"integrity\":{\"status\":\"intact\"}") != NULL);

    uint8_t *changed = malloc(len);
    memcpy(changed, ev, len);
    const uint8_t *b64 = find_bytes(changed, len, "\"base64\":\"", 10);
    CHECK(b64 != NULL);
    size_t at = b64 ? (size_t)(b64 - changed) + 20 : len / 2;
    changed[at] ^= 0x01;
    accepted = true;
    CHECK_RC(zairyu_verify_evidence(changed, len, t, 0, &accepted, &bad), ZAIRYU_RESULT_OK);
    CHECK(!accepted);
    CHECK_RC(zairyu_evidence_verdict_accepted(bad, &accepted), ZAIRYU_RESULT_OK);
    CHECK(!accepted);
    CHECK_RC(zairyu_evidence_verdict_json(bad, 0, j, sizeof j, &jl), ZAIRYU_RESULT_OK);
    CHECK(strstr(j, "\"accepted\":false") != NULL && strstr(j, "\"altered\"") != NULL);
    free(changed);

    /* Export: the header line and one row, CRLF; a rejected file is refused. */
    zairyu_result rc;
    const zairyu_evidence_verdict *one[1] = {v};
    char *csv = export_rows(one, 1, ZAIRYU_EXPORT_FORMAT_CSV, 0, &rc);
    CHECK(csv != NULL);
    if (csv) {
      CHECK(strncmp(csv, "schema_version,card_type,card_type_ja,generation,verdict,", 57) == 0);
      size_t lines = 0;
      for (const char *p = csv; (p = strstr(p, "\r\n")) != NULL; p += 2) lines++;
      CHECK(lines == 2);
      const char *row = strstr(csv, "\r\n");
      CHECK(row && strncmp(row + 2, "1,05,", 5) == 0 && strstr(row, ",test,") && strstr(row, "AB********CD"));
    }
    free(csv);
    char *era = export_rows(one, 1, ZAIRYU_EXPORT_FORMAT_JSONL, ZAIRYU_EXPORT_JAPANESE_ERA, &rc);
    CHECK(era != NULL && strstr(era, "\"birth_date_era\":\"") != NULL && strchr(era, '\n') == era + strlen(era) - 1);
    free(era);
    const zairyu_evidence_verdict *mixed[2] = {v, bad};
    CHECK(export_rows(mixed, 2, ZAIRYU_EXPORT_FORMAT_CSV, 0, &rc) == NULL);
    CHECK(rc == ZAIRYU_RESULT_EVIDENCE_REJECTED);
    CHECK(last_error_starts_with("evidence_rejected: verdicts[1]"));
    CHECK(export_rows(one, 1, 7, 0, &rc) == NULL && rc == ZAIRYU_RESULT_INVALID_ARGUMENT);
    CHECK(export_rows(one, 1, ZAIRYU_EXPORT_FORMAT_JSONL, ZAIRYU_EXPORT_BOM, &rc) == NULL &&
          rc == ZAIRYU_RESULT_INVALID_ARGUMENT);
    CHECK(export_rows(NULL, 1, ZAIRYU_EXPORT_FORMAT_CSV, 0, &rc) == NULL && rc == ZAIRYU_RESULT_NULL_POINTER);
    char *empty = export_rows(NULL, 0, ZAIRYU_EXPORT_FORMAT_CSV, ZAIRYU_EXPORT_BOM, &rc);
    CHECK(empty && strncmp(empty, "\xEF\xBB\xBFschema_version,", 18) == 0);
    free(empty);

    /* Verification errors: NULL arguments and unknown flags write nothing. */
    zairyu_evidence_verdict *none = NULL;
    CHECK_RC(zairyu_verify_evidence(NULL, 5, t, 0, &accepted, &none), ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_verify_evidence(ev, len, NULL, 0, &accepted, &none), ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_verify_evidence(ev, len, t, 0, NULL, &none), ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_verify_evidence(ev, len, t, 0, &accepted, NULL), ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_verify_evidence(ev, len, t, 1, &accepted, &none), ZAIRYU_RESULT_INVALID_ARGUMENT);
    CHECK(none == NULL);
    CHECK_RC(zairyu_evidence_verdict_accepted(NULL, &accepted), ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_evidence_verdict_verdict(v, NULL), ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_evidence_verdict_json(v, 4, j, sizeof j, &jl), ZAIRYU_RESULT_INVALID_ARGUMENT);
    /* Not evidence at all: judged, rejected, no card verdict. */
    CHECK_RC(zairyu_verify_evidence((const uint8_t *)"{}", 2, t, 0, &accepted, &none), ZAIRYU_RESULT_OK);
    CHECK(!accepted);
    CHECK_RC(zairyu_evidence_verdict_verdict(none, &verdict), ZAIRYU_RESULT_NOT_PRESENT);
    zairyu_evidence_verdict_free(none);
    zairyu_evidence_verdict_free(bad);
    zairyu_evidence_verdict_free(v);
    zairyu_evidence_verdict_free(NULL);
  }
  free(ev);

  /* Evidence options: the full number, a bad key, a bad number, unknown flags. */
  o.flags = ZAIRYU_EVIDENCE_INCLUDE_CARD_NUMBER;
  ev = evidence(r, &o, &len);
  CHECK(ev != NULL && find_bytes(ev, len, "\"card_number_full\":\"AB12345678CD\"", 33) != NULL);
  free(ev);
  ev = evidence(r, NULL, &len);
  CHECK(ev != NULL && find_bytes(ev, len, "\"station\":null", 14) != NULL);
  free(ev);
  size_t n = 0;
  o.card_number = NULL;
  CHECK_RC(zairyu_read_result_evidence_json(r, &o, NULL, 0, &n), ZAIRYU_RESULT_INVALID_ARGUMENT);
  o.flags = 0;
  o.station_key_pkcs8 = (const uint8_t *)"not a PKCS#8 key";
  o.station_key_len = 16;
  CHECK_RC(zairyu_read_result_evidence_json(r, &o, NULL, 0, &n), ZAIRYU_RESULT_STATION_KEY_INVALID);
  o.station_key_pkcs8 = NULL;
  CHECK_RC(zairyu_read_result_evidence_json(r, &o, NULL, 0, &n), ZAIRYU_RESULT_NULL_POINTER);
  o.station_key_len = 0;
  o.card_number = "AB1";
  CHECK_RC(zairyu_read_result_evidence_json(r, &o, NULL, 0, &n), ZAIRYU_RESULT_INPUT_BAD_CARD_NUMBER);
  o.card_number = NULL;
  o.flags = 0x100;
  CHECK_RC(zairyu_read_result_evidence_json(r, &o, NULL, 0, &n), ZAIRYU_RESULT_INVALID_ARGUMENT);
  CHECK_RC(zairyu_read_result_evidence_json(NULL, NULL, NULL, 0, &n), ZAIRYU_RESULT_NULL_POINTER);
  CHECK_RC(zairyu_read_result_evidence_json(r, NULL, NULL, 0, NULL), ZAIRYU_RESULT_NULL_POINTER);
  zairyu_read_result_free(r);
  zairyu_trust_store_free(t);
}

/* Pinned station keys: a fixed ECDSA P-256 station key (PKCS#8 DER of the scalar
   1..32, no public key) and its pin, the SHA-256 of its SubjectPublicKeyInfo DER
   (`openssl pkey -inform DER -pubout -outform DER | sha256sum`). */
static void station_key_pkcs8(uint8_t der[67]) {
  static const uint8_t head[] = {0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
                                 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20};
  memcpy(der, head, sizeof head);
  for (int i = 0; i < 32; i++) der[sizeof head + i] = (uint8_t)(i + 1);
}
static const char STATION_PIN_HEX[] = "f1d59449b727165de732bf283338122b99628a615918fedc67d878fffcf47da7";

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    sscanf(hex + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
}

/* The verdict's JSON (one line) into buf; 1 on success. */
static int verdict_json(const zairyu_evidence_verdict *v, char *buf, size_t n) {
  size_t len = 0;
  return zairyu_evidence_verdict_json(v, 0, buf, n, &len) == ZAIRYU_RESULT_OK;
}

static void test_evidence_pinned(void) {
  zairyu_trust_store *t = sim_trust();
  zairyu_read_result *r = NULL;
  CHECK_RC(read_sim("1", 0, NUMBER, ZAIRYU_READ_POLICY_FULL, &r), ZAIRYU_RESULT_OK);
  uint8_t key[67];
  station_key_pkcs8(key);
  zairyu_evidence_options o = {0};
  o.station_key_pkcs8 = key;
  o.station_key_len = sizeof key;
  size_t signed_len = 0, unsigned_len = 0;
  uint8_t *signed_ev = evidence(r, &o, &signed_len);
  uint8_t *unsigned_ev = evidence(r, NULL, &unsigned_len);
  CHECK(signed_ev != NULL && unsigned_ev != NULL);
  if (signed_ev && unsigned_ev) {
    CHECK(find_bytes(signed_ev, signed_len, STATION_PIN_HEX, 64) != NULL); /* the key_sha256 it names */
    uint8_t pins[2 * ZAIRYU_STATION_KEY_SHA256_LEN];
    memset(pins, 0x11, ZAIRYU_STATION_KEY_SHA256_LEN); /* another station's pin first */
    hex_to_bytes(STATION_PIN_HEX, pins + ZAIRYU_STATION_KEY_SHA256_LEN, ZAIRYU_STATION_KEY_SHA256_LEN);
    const uint8_t *right = pins + ZAIRYU_STATION_KEY_SHA256_LEN, *wrong = pins;
    char j[65536];
    bool accepted = false;
    zairyu_evidence_proof proof = ZAIRYU_EVIDENCE_PROOF_NOTHING;
    zairyu_result rc;

    /* Genuine, signed, under its pin (alone, or among others): the whole file. */
    for (size_t count = 1; count <= 2; count++) {
      zairyu_evidence_verdict *v = NULL;
      const uint8_t *p = count == 1 ? right : pins;
      CHECK_RC(zairyu_verify_evidence_pinned(signed_ev, signed_len, t, p, count, 0, &accepted, &v), ZAIRYU_RESULT_OK);
      CHECK(accepted);
      CHECK_RC(zairyu_evidence_verdict_proves(v, &proof), ZAIRYU_RESULT_OK);
      CHECK(proof == ZAIRYU_EVIDENCE_PROOF_WHOLE_FILE);
      CHECK(verdict_json(v, j, sizeof j) && strstr(j, "\"proves\":\"whole_file\"") && strstr(j, "\"caveat\":null") &&
            strstr(j, "\"station_pin\":{\"key_sha256\":\"f1d59449"));
      const zairyu_evidence_verdict *one[1] = {v};
      char *csv = export_rows(one, 1, ZAIRYU_EXPORT_FORMAT_CSV, 0, &rc);
      CHECK(csv != NULL);
      free(csv);
      zairyu_evidence_verdict_free(v);
    }
    /* The wrong pin, and an unsigned file under the right one: rejected, and why. */
    zairyu_evidence_verdict *bad = NULL;
    accepted = true;
    CHECK_RC(zairyu_verify_evidence_pinned(signed_ev, signed_len, t, wrong, 1, 0, &accepted, &bad), ZAIRYU_RESULT_OK);
    CHECK(!accepted);
    CHECK_RC(zairyu_evidence_verdict_proves(bad, &proof), ZAIRYU_RESULT_OK);
    CHECK(proof == ZAIRYU_EVIDENCE_PROOF_NOTHING);
    CHECK(verdict_json(bad, j, sizeof j) && strstr(j, "\"status\":\"unknown_key\"") && strstr(j, "not pinned"));
    const zairyu_evidence_verdict *rejected[1] = {bad};
    CHECK(export_rows(rejected, 1, ZAIRYU_EXPORT_FORMAT_CSV, 0, &rc) == NULL && rc == ZAIRYU_RESULT_EVIDENCE_REJECTED);
    zairyu_evidence_verdict_free(bad);
    bad = NULL;
    accepted = true;
    CHECK_RC(zairyu_verify_evidence_pinned(unsigned_ev, unsigned_len, t, right, 1, 0, &accepted, &bad),
             ZAIRYU_RESULT_OK);
    CHECK(!accepted);
    CHECK(verdict_json(bad, j, sizeof j) && strstr(j, "\"station_pin\":{\"status\":\"unsigned\"}") &&
          strstr(j, "no station signature"));
    zairyu_evidence_verdict_free(bad);

    /* Without pins the same unsigned file is accepted, and says what it does not prove. */
    zairyu_evidence_verdict *v = NULL;
    CHECK_RC(zairyu_verify_evidence(unsigned_ev, unsigned_len, t, 0, &accepted, &v), ZAIRYU_RESULT_OK);
    CHECK(accepted);
    CHECK_RC(zairyu_evidence_verdict_proves(v, &proof), ZAIRYU_RESULT_OK);
    CHECK(proof == ZAIRYU_EVIDENCE_PROOF_CHIP_SIGNED_FIELDS_ONLY);
    CHECK(verdict_json(v, j, sizeof j) && strstr(j, "\"proves\":\"chip_signed_fields_only\"") &&
          strstr(j, "recomputed hashes"));
    /* Guarded formulas are CSV only. */
    const zairyu_evidence_verdict *one[1] = {v};
    char *csv = export_rows(one, 1, ZAIRYU_EXPORT_FORMAT_CSV, ZAIRYU_EXPORT_GUARD_FORMULAS, &rc);
    CHECK(csv != NULL && strncmp(csv, "schema_version,", 15) == 0);
    free(csv);
    CHECK(export_rows(one, 1, ZAIRYU_EXPORT_FORMAT_JSONL, ZAIRYU_EXPORT_GUARD_FORMULAS, &rc) == NULL &&
          rc == ZAIRYU_RESULT_INVALID_ARGUMENT);
    zairyu_evidence_verdict_free(v);

    /* Bad arguments write nothing: no pins, NULL pins, flags, NULL outputs. */
    zairyu_evidence_verdict *none = NULL;
    accepted = true;
    CHECK_RC(zairyu_verify_evidence_pinned(signed_ev, signed_len, t, right, 0, 0, &accepted, &none),
             ZAIRYU_RESULT_INVALID_ARGUMENT);
    CHECK_RC(zairyu_verify_evidence_pinned(signed_ev, signed_len, t, NULL, 1, 0, &accepted, &none),
             ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_verify_evidence_pinned(signed_ev, signed_len, t, right, 1, 2, &accepted, &none),
             ZAIRYU_RESULT_INVALID_ARGUMENT);
    CHECK_RC(zairyu_verify_evidence_pinned(signed_ev, signed_len, NULL, right, 1, 0, &accepted, &none),
             ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_verify_evidence_pinned(signed_ev, signed_len, t, right, 1, 0, NULL, &none),
             ZAIRYU_RESULT_NULL_POINTER);
    CHECK_RC(zairyu_verify_evidence_pinned(signed_ev, signed_len, t, right, 1, 0, &accepted, NULL),
             ZAIRYU_RESULT_NULL_POINTER);
    CHECK(accepted && none == NULL);
    CHECK_RC(zairyu_evidence_verdict_proves(NULL, &proof), ZAIRYU_RESULT_NULL_POINTER);
  }
  free(signed_ev);
  free(unsigned_ev);
  zairyu_read_result_free(r);
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
  test_trust_store_from_callback();
  test_free_busy_card();
  test_coverage_and_validity();
  test_hostile_text();
  test_panic_boundary();
  test_production_path();
  test_pcsc();
  test_write_address();
  test_write_via_callback();
  test_write_remote();
  test_images_as_png();
  test_report_html();
  test_evidence_and_export();
  test_evidence_pinned();
  if (skipped)
    fprintf(stderr,
            "(%d test groups skipped: see ZAIRYU_TEST_READER, ZAIRYU_TEST_CA_DIR, ZAIRYU_TEST_PRODUCTION_DIR, "
            "ZAIRYU_TEST_HOOKS, ZAIRYU_TEST_AUTHORITY_URL)\n",
            skipped);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
