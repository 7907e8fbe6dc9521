// line_writer: an app for bench/scale.sh --logs that prints numbered lines at a steady rate,
// one write(2) a line, as a program with line-buffered stdout does, then exits 0.
//
//   line_writer <lines per second> <seconds> [line bytes]
//
// Each line: "<tag> <seq> <padding>\n", tag = $LINE_WRITER_TAG (or "app"), seq from 0, padded
// with 'x' to [line bytes] (default 100) including the newline. Lines go out in bursts every
// 10 ms, on an absolute schedule, so the rate holds however long a write took. With
// $LINE_WRITER_GO set, it first waits (polling every 10 ms) until that file exists, so every app
// can be started, and followed, before the first line.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int write_all(const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: line_writer <lines per second> <seconds> [line bytes]\n");
    return 2;
  }
  long rate = atol(argv[1]);
  long seconds = atol(argv[2]);
  long bytes = argc > 3 ? atol(argv[3]) : 100;
  if (rate <= 0 || seconds <= 0 || bytes < 32 || bytes > 4096) {
    fprintf(stderr, "line_writer: rate and seconds above 0, line bytes 32..4096\n");
    return 2;
  }
  const char* go = getenv("LINE_WRITER_GO");
  const struct timespec poll_interval = {0, 10000000L};
  while (go != NULL && access(go, F_OK) != 0) nanosleep(&poll_interval, NULL);
  const char* tag = getenv("LINE_WRITER_TAG");
  if (tag == NULL || strlen(tag) > 64) tag = "app";
  const long total = rate * seconds;
  const long ticks_per_second = 100;
  char line[4096];
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  long seq = 0;
  for (long tick = 1; seq < total; ++tick) {
    long due = rate * tick / ticks_per_second;  // lines due by the end of this tick
    if (due > total) due = total;
    for (; seq < due; ++seq) {
      int n = snprintf(line, sizeof(line), "%s %ld ", tag, seq);
      if (n < 0 || n >= bytes) return 1;
      memset(line + n, 'x', (size_t)(bytes - 1 - n));
      line[bytes - 1] = '\n';
      if (write_all(line, (size_t)bytes) < 0) return 1;
    }
    next.tv_nsec += 1000000000L / ticks_per_second;
    if (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec += 1;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
  }
  return 0;
}
