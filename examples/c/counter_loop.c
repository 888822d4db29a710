/*
 * counter_loop: the counter (窓口) loop with the zairyu C library.
 *
 *   counter_loop --reader NAME [--trust-dir DIR] [--sim-test-ca] [--max-cards N]
 *
 * Waits for a card in the reader; when one arrives, reads one card number line from
 * standard input (an empty line skips the card), reads and verifies the card, and
 * prints one JSON line, as `zairyu watch` does: {"event":"result","ok":OK,
 * "verdict":VERDICT,"report":REPORT} for a completed read (REPORT in the schema of
 * `zairyu read --json`; OK is true only for the verdict "production", a genuine card:
 * a card valid under a test anchor is "ok":false,"verdict":"test") or
 * {"event":"result","ok":false,"error":{"code":NAME,"message":TEXT}} for a failed
 * one. Then it waits for the card to leave. It ends at end of input, or after
 * --max-cards cards.
 *
 * Build: cc counter_loop.c $(pkg-config --cflags --libs zairyu) -o counter_loop
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zairyu.h"

/* Prints s as a JSON string. */
static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static void print_error(zairyu_result rc) {
  char detail[1024] = "";
  size_t n = 0;
  zairyu_last_error_message(detail, sizeof detail, &n);
  printf("{\"event\":\"result\",\"ok\":false,\"error\":{\"code\":");
  json_string(zairyu_result_name(rc));
  printf(",\"message\":");
  json_string(detail);
  printf("}}\n");
}

/* The verdict's name in the JSON report. */
static const char *verdict_name(zairyu_verdict v) {
  switch (v) {
    case ZAIRYU_VERDICT_PRODUCTION: return "production";
    case ZAIRYU_VERDICT_TEST: return "test";
    case ZAIRYU_VERDICT_UNTRUSTED: return "untrusted";
    case ZAIRYU_VERDICT_INVALID: return "invalid";
    case ZAIRYU_VERDICT_ABSENT: return "absent";
    default: return "not_checked";
  }
}

/* Reads the card in `reader` with `number`; prints the result line. */
static void read_one(const char *reader, const zairyu_trust_store *trust, const char *number) {
  zairyu_card *card = NULL;
  zairyu_read_result *result = NULL;
  zairyu_result rc = zairyu_card_open_pcsc(reader, &card);
  if (rc == ZAIRYU_RESULT_OK) rc = zairyu_card_read(card, trust, number, ZAIRYU_READ_POLICY_FULL, &result);
  /* Free the card first: ends the PC/SC transaction and resets the card. */
  zairyu_card_free(card);
  if (rc != ZAIRYU_RESULT_OK) {
    print_error(rc);
    return;
  }
  size_t need = 0, len = 0;
  zairyu_verdict verdict = ZAIRYU_VERDICT_NOT_CHECKED;
  zairyu_read_result_json(result, 0, NULL, 0, &need); /* asks for the size */
  char *json = malloc(need);
  rc = json ? zairyu_read_result_json(result, 0, json, need, &len) : ZAIRYU_RESULT_BUFFER_TOO_SMALL;
  if (rc == ZAIRYU_RESULT_OK) rc = zairyu_read_result_verdict(result, &verdict);
  if (rc == ZAIRYU_RESULT_OK)
    printf("{\"event\":\"result\",\"ok\":%s,\"verdict\":\"%s\",\"report\":%s}\n",
           verdict == ZAIRYU_VERDICT_PRODUCTION ? "true" : "false", verdict_name(verdict), json);
  else print_error(rc);
  free(json);
  zairyu_read_result_free(result);
}

/* Waits until the card is present (or gone); 0 when reached, -1 on error. */
static int wait_for(const char *reader, bool present) {
  for (;;) {
    bool reached = false;
    zairyu_result rc = zairyu_reader_wait(reader, present, 1000, &reached);
    if (rc != ZAIRYU_RESULT_OK) {
      print_error(rc);
      return -1;
    }
    if (reached) return 0;
  }
}

int main(int argc, char **argv) {
  const char *reader = NULL, *trust_dir = NULL;
  int sim_ca = 0;
  long max_cards = -1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--reader") == 0 && i + 1 < argc) reader = argv[++i];
    else if (strcmp(argv[i], "--trust-dir") == 0 && i + 1 < argc) trust_dir = argv[++i];
    else if (strcmp(argv[i], "--max-cards") == 0 && i + 1 < argc) max_cards = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--sim-test-ca") == 0) sim_ca = 1;
    else reader = NULL, i = argc;
  }
  if (!reader) {
    fprintf(stderr, "usage: %s --reader NAME [--trust-dir DIR] [--sim-test-ca] [--max-cards N]\n", argv[0]);
    return 2;
  }
  zairyu_trust_store *trust = NULL;
  zairyu_result rc = zairyu_trust_store_new(&trust);
  if (rc == ZAIRYU_RESULT_OK && trust_dir) rc = zairyu_trust_store_load_production_dir(trust, trust_dir, NULL);
  if (rc == ZAIRYU_RESULT_OK && sim_ca) rc = zairyu_trust_store_add_simulator_test_anchors(trust);
  if (rc != ZAIRYU_RESULT_OK) {
    print_error(rc);
    zairyu_trust_store_free(trust);
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);

  int status = 0;
  char line[128];
  for (long cards = 0; max_cards < 0 || cards < max_cards; cards++) {
    if (wait_for(reader, true) != 0) { status = 1; break; }
    printf("{\"event\":\"card_inserted\"}\n");
    if (!fgets(line, sizeof line, stdin)) break; /* end of input */
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0') printf("{\"event\":\"skipped\"}\n");
    else read_one(reader, trust, line);
    memset(line, 0, sizeof line); /* the card number is a secret */
    if (max_cards >= 0 && cards + 1 >= max_cards) break;
    if (wait_for(reader, false) != 0) { status = 1; break; }
    printf("{\"event\":\"card_removed\"}\n");
  }
  zairyu_trust_store_free(trust);
  return status;
}
