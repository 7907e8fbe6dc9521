/* The bind channel: what herd's preload library (bind_preload.c) and the daemon
 * (src/manager/bind_channel.cc) say to each other. C, so that both sides include it.
 *
 * herd gives every instance of an app in cluster mode one end of a SOCK_SEQPACKET socketpair,
 * at the descriptor named by HERD_BIND_FD, and the pid it spawned in HERD_BIND_PID. Each
 * message is one datagram: a request of exactly sizeof(struct herd_bind_request) bytes, answered
 * by one reply of exactly sizeof(struct herd_bind_reply) bytes, in order. A BIND reply with
 * error 0 carries the listening socket as SCM_RIGHTS.
 *
 *   BIND       the program binds `addr` (TCP port != 0, or a Unix path): herd answers with the
 *              socket it holds for that address (binding it the first time), or an errno
 *              (EADDRINUSE when another process holds the port, as the kernel would say).
 *   LISTENING  the program called listen() on a socket herd gave it: the instance is ready.
 *   HELD_PATH  the program is about to unlink() a socket file at `addr` (a Unix path): error 0
 *              when herd holds a socket there for this app (the unlink is then skipped), ENOENT
 *              otherwise.
 *
 * The accept counter: herd also passes each instance a shared page (a memfd of
 * HERD_ACCEPT_PAGE_SIZE bytes starting with HERD_ACCEPT_MAGIC) at the descriptor named by
 * HERD_ACCEPT_FD. The library adds 1 to `accepted` (a relaxed atomic add) for every connection
 * accept()/accept4() returns on a socket herd gave; herd reads it when it samples the instance
 * (docs/diagnostics.md). Nothing crosses the channel for it.
 */
#ifndef HERD_INJECT_BIND_PROTOCOL_H_
#define HERD_INJECT_BIND_PROTOCOL_H_

#include <stdint.h>
#include <sys/socket.h>

#define HERD_BIND_MAGIC 0x48524442u /* "HRDB" */
#define HERD_BIND_VERSION 1

/* The environment herd sets for an injected instance. */
#define HERD_BIND_FD_ENV "HERD_BIND_FD"
#define HERD_BIND_PID_ENV "HERD_BIND_PID"

#define HERD_ACCEPT_FD_ENV "HERD_ACCEPT_FD"
#define HERD_ACCEPT_MAGIC 0x3143434144524548ull /* "HERDACC1" */
#define HERD_ACCEPT_PAGE_SIZE 4096

struct herd_accept_page {
  uint64_t magic;    /* HERD_ACCEPT_MAGIC, written by herd */
  uint64_t accepted; /* connections accepted on herd's sockets, by every process of the run */
};

enum herd_bind_op {
  HERD_BIND_OP_BIND = 1,
  HERD_BIND_OP_LISTENING = 2,
  HERD_BIND_OP_HELD_PATH = 3,
};

struct herd_bind_request {
  uint32_t magic;   /* HERD_BIND_MAGIC */
  uint16_t version; /* HERD_BIND_VERSION */
  uint16_t op;      /* enum herd_bind_op */
  int32_t v6only;   /* an IPv6 socket's IPV6_V6ONLY (0 or 1); -1 for other families */
  int32_t backlog;  /* LISTENING: the program's backlog (herd keeps its own) */
  uint32_t addr_len;
  uint32_t reserved; /* 0 */
  struct sockaddr_storage addr;
};

struct herd_bind_reply {
  uint32_t magic; /* HERD_BIND_MAGIC */
  int32_t error;  /* 0, or the errno the program's call fails with */
};

#endif /* HERD_INJECT_BIND_PROTOCOL_H_ */
