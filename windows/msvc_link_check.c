/* Links against zairyu.lib the way an MSVC program does: scripts/windows test compiles
 * this to a COFF object and links it with lld-link (LLVM's link.exe-compatible linker)
 * and zairyu.lib alone (no C run time: /nodefaultlib, entry point `start`), then runs it
 * under Wine. It prints zairyu_version() from zairyu.dll. Test code only. */
#include <windows.h>

#include "zairyu.h"

void start(void) {
  const char *v = zairyu_version();
  DWORD n;
  WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), v, (DWORD)lstrlenA(v), &n, NULL);
  ExitProcess(0);
}
