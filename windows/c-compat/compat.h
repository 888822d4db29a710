/* What ffi/tests/test_api.c takes from POSIX and mingw-w64 lacks, for its build
 * under Wine (scripts/windows test; force-included with -include). Test code only. */
#ifndef ZAIRYU_WINDOWS_COMPAT_H
#define ZAIRYU_WINDOWS_COMPAT_H
#include <winsock2.h>
#include <ws2tcpip.h>
#include <direct.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>

/* mkdtemp: _mktemp_s fills the XXXXXX in place, _mkdir creates the directory. */
static inline char *zairyu_compat_mkdtemp(char *template_) {
  if (_mktemp_s(template_, strlen(template_) + 1) != 0) return NULL;
  return _mkdir(template_) == 0 ? template_ : NULL;
}
#define mkdtemp zairyu_compat_mkdtemp

/* alarm: the tests arm it as a watchdog against a deadlock. Windows has no SIGALRM;
   scripts/windows runs the test program under `timeout` instead. */
static inline unsigned zairyu_compat_alarm(unsigned seconds) {
  (void)seconds;
  return 0;
}
#define alarm zairyu_compat_alarm
#endif
