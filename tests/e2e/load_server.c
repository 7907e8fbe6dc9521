/* load_server: a TCP server written without herd in mind, for the load-share tests
 * (diagnostics_test.cc).
 *
 *   load_server PORT SLOW    binds 0.0.0.0:PORT itself, then answers every connection with an
 *                            HTTP response "Hello World! <pid>"; the instance whose
 *                            HERD_INSTANCE equals SLOW sleeps 5 ms before each answer (SLOW -1:
 *                            none does)
 *
 * Blocking accept(), one connection at a time, as the simplest servers do. Never instrumented
 * (herd's bind library is preloaded into it, as into any program).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: load_server PORT SLOW\n");
    return 2;
  }
  const char* instance = getenv("HERD_INSTANCE");
  int slow = instance != NULL && atoi(argv[2]) >= 0 && atoi(instance) == atoi(argv[2]);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, (struct sockaddr*)&a, sizeof(a)) < 0 || listen(fd, 64) < 0) {
    perror("load_server: bind/listen");
    return 1;
  }
  char body[64], answer[192];
  int blen = snprintf(body, sizeof(body), "Hello World! %d", (int)getpid());
  int alen =
      snprintf(answer, sizeof(answer),
               "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", blen, body);
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    char req[1024];
    ssize_t n = read(c, req, sizeof(req));
    (void)n;
    if (slow) {
      struct timespec t = {0, 5 * 1000 * 1000};
      nanosleep(&t, NULL);
    }
    ssize_t w = write(c, answer, (size_t)alen);
    (void)w;
    close(c);
  }
}
