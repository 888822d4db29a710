/* mingw-w64 stand-in for <netinet/in.h>: the sockets of Winsock (scripts/windows test only). */
#include <winsock2.h>
#include <ws2tcpip.h>
