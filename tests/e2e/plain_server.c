/* plain_server: a TCP server written without herd in mind, for the cluster-mode tests.
 *
 *   plain_server PORT        binds 0.0.0.0:PORT itself (SO_REUSEADDR, backlog 16), then answers
 *                            every connection with an HTTP response whose body is its pid
 *
 * Blocking accept(), as the simplest servers do. Exits 1 with the reason on stderr when it
 * cannot bind or listen. Built twice: dynamically (plain_server) and statically
 * (plain_server_static), which herd's bind library cannot reach.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: plain_server PORT\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, (struct sockaddr*)&a, sizeof(a)) < 0) {
    perror("plain_server: bind");
    return 1;
  }
  if (listen(fd, 16) < 0) {
    perror("plain_server: listen");
    return 1;
  }
  char body[32], answer[160];
  int blen = snprintf(body, sizeof(body), "%d", (int)getpid());
  int alen =
      snprintf(answer, sizeof(answer),
               "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", blen, body);
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    char req[1024];
    ssize_t n = read(c, req, sizeof(req));
    (void)n;
    ssize_t w = write(c, answer, (size_t)alen);
    (void)w;
    close(c);
  }
}
