/* limit_responder: the lower bound of CPU per HTTP request on this machine, for bench/http.sh.
 *
 *   limit_responder PORT        (listens on 127.0.0.1:PORT)
 *
 * One thread, one level-triggered epoll instance, non-blocking sockets: accept4 until EAGAIN, and
 * for every read(2) that returns data, one write(2) of a fixed response (the same status line,
 * headers and body as hello's). It does not parse: one response per read is right for clients
 * that wait for each response before sending the next request (wrk without a pipelining script,
 * curl), and that is all it is for. What it costs per request is what any server on this kernel
 * pays at least (epoll_wait, read, write, the loopback TCP stack); bench/http.sh prints hello's
 * CPU per request against it.
 *
 * Exits on SIGTERM/SIGINT (default action); a fatal error prints a message and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char kResponse[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n" /* hello's headers, byte for byte in length */
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello World!\n";

static void die(const char* what) {
  fprintf(stderr, "limit_responder: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char** argv) {
  char* end = NULL;
  long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
  if (argc != 2 || *end != '\0' || port < 1 || port > 65535) {
    fprintf(stderr, "usage: limit_responder PORT   (1..65535; listens on 127.0.0.1)\n");
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) die("socket");
  int one = 1;
  if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) die("SO_REUSEADDR");
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr*)&address, sizeof address) < 0) die("bind 127.0.0.1");
  if (listen(listener, 511) < 0) die("listen");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) < 0) die("epoll_ctl");

  struct epoll_event events[256];
  char buffer[16384];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        for (;;) {
          int c = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) {
            if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR) break;
            die("accept4");
          }
          /* As hello and nginx do for small responses: no Nagle delay. */
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0) die("epoll_ctl add");
        }
        continue;
      }
      ssize_t got = read(fd, buffer, sizeof buffer);
      if (got > 0) {
        /* 80 bytes into an empty socket buffer: the kernel takes them whole. */
        if (write(fd, kResponse, sizeof kResponse - 1) == (ssize_t)(sizeof kResponse - 1)) continue;
      } else if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
        continue;
      }
      close(fd); /* end of stream, an error or a short write: epoll forgets the socket */
    }
  }
}
