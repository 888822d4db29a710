/* TEST ONLY, for Wine: a bcryptprimitives.dll that exports ProcessPrng.
 *
 * Rust's standard library (1.78 and later) takes its random numbers from
 * ProcessPrng in bcryptprimitives.dll, which every supported Windows has but Wine 8.0
 * does not. scripts/windows builds this file with mingw-w64 into the Wine test
 * directory, beside zairyu.exe and the C tests, and nowhere else: it is never part of
 * a release archive (scripts/windows dist checks). On Windows the system's own
 * bcryptprimitives.dll is used.
 *
 * It forwards to RtlGenRandom (advapi32's SystemFunction036), in chunks that fit its
 * ULONG length. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x10000000u ? 0x10000000u : (ULONG)len;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
