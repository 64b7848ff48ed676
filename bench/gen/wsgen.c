// wsgen: the bench's WebSocket load generator in C. One process, one thread, one epoll loop, meant to be
// pinned (taskset) to the core the server is not on. Client frames are masked once at start-up and reused;
// server frames are walked by their headers only. Every scenario is a warm-up (not counted) and a measured
// window; every loop is bounded in count and time, and a hard deadline (alarm) ends the process whatever
// happens. Connects to 127.0.0.1 only. One JSON line on stdout, with the generator's own CPU (getrusage)
// and the server's (from /proc/<pid>/stat).
//
//   wsgen --scenario throughput|latency|handshake|idle|fanout --port P [options]
//     --size N --text --conns N --inflight N        throughput (N connections x W frames in flight), latency (1x1)
//     --concurrency C                                handshake: C connect/upgrade/close cycles at a time
//     --conns N --settle MS                          idle: server RSS per connection (needs --server-pid)
//     --subs S --size N --inflight W --rate R        fanout: S subscribers (path /sub) and one publisher (/pub);
//                                                    R publishes/s, or 0 = as fast as W in flight allows
//     --pause-us U                                   fanout at full speed: sleep U µs after each busy turn of the
//                                                    loop, so that frames pile up and one read takes several
//     --pub-port P2                                  fanout: the publisher connects to port P2 (another server)
//     --warmup MS --duration MS --server-pid PID[,PID...]   (several: a multi-process server, CPU summed)
//
// What keeps it cheap (it must never be what limits a server): one epoll_wait handles up to 4096 ready sockets;
// fan-out subscribers are edge-triggered (no re-poll of the sockets just read), read one clock per read, not per frame, and publishes once per loop turn; echoes of messages of 16 KiB
// or more read each frame's first 22 bytes and drop the rest in the kernel (recv MSG_TRUNC); connection cycles
// send the upgrade request right after connect() (on loopback the TCP handshake is done by then) and let the
// server close TCP first (RFC 6455 section 7.1.1), so TIME_WAIT is the server's.
//
// Built by bench/lib/generator.mjs: gcc -O2 -o bench/.cache/wsgen bench/gen/wsgen.c
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// ---------------------------------------------------------------------------------------------- options

static const char *scenario = "throughput";
static int port = 0;
// fanout: the publisher connects to this port instead (another server: a publish crosses a broker such as Redis).
static int pub_port = 0;
static uint64_t size = 16;
static int text = 0;
static int conns_opt = 1;
static int inflight = 1;
static int concurrency = 1;
static int warmup_ms = 1000;
static int duration_ms = 3000;
static int settle_ms = 2000;
static int server_pid = 0;
static int subs = 1000;
static double rate = 0;
static int pause_us = 0;

// Reads and epoll_waits, in all and at the start of the measured window.
static uint64_t reads, polls, reads0, polls0;

enum { SC_THROUGHPUT, SC_HANDSHAKE, SC_IDLE, SC_FANOUT };
static int sc;

enum { OPEN_CONCURRENCY = 128, HANDSHAKE_TIMEOUT_MS = 5000, MAX_HS_CYCLES = 5000000, MAX_CONNS = 60000 };
enum { FANOUT_RING = 4096, FANOUT_LOST_MS = 10000, FANOUT_DRAIN_MS = 12000 };

// The RFC 6455 section 1.3 sample key and its accept value: one fixed key for every connection.
static const char ACCEPT[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// ---------------------------------------------------------------------------------------------- clock, output

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char cpus_allowed[64] = "?";

static void read_cpus_allowed(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
      char *v = line + 18;
      while (*v == ' ' || *v == '\t') v++;
      v[strcspn(v, "\n")] = 0;
      snprintf(cpus_allowed, sizeof cpus_allowed, "%.63s", v);
    }
  }
  fclose(f);
}

static void fail(int code, const char *fmt, ...) {
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  for (char *p = message; *p; p++)
    if (*p == '"' || *p == '\\') *p = '\'';
  printf("{\"ok\":false,\"error\":\"%s\",\"generator\":\"c\",\"genCpus\":\"%s\"}\n", message, cpus_allowed);
  fflush(stdout);
  _exit(code);
}

static void on_alarm(int sig) {
  (void)sig;
  static const char line[] = "{\"ok\":false,\"error\":\"load generator hit its hard deadline\",\"generator\":\"c\"}\n";
  ssize_t ignored = write(1, line, sizeof line - 1);
  (void)ignored;
  _exit(3);
}

/** A JSON number, or null when not finite. */
static void jnum(const char *key, double v) {
  if (isfinite(v)) printf(",\"%s\":%.6g", key, v);
  else printf(",\"%s\":null", key);
}

// ---------------------------------------------------------------------------------------------- CPU and memory

// --server-pid P[,P...]: a multi-process server (cluster primary and workers) is measured as the sum of its
// processes' CPU and run-queue wait; its RSS is the first pid's.
enum { MAX_SERVER_PIDS = 16 };
static int server_pids[MAX_SERVER_PIDS], nserver_pids;

static double process_cpu_seconds(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NAN;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return NAN;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return NAN;
  p += 2;
  unsigned long utime = 0, stime = 0;
  // Fields after the command: state(3) ... utime(14) stime(15); p points at field 3.
  for (int field = 3; field < 14; field++) p = strchr(p, ' ') + 1;
  if (sscanf(p, "%lu %lu", &utime, &stime) != 2) return NAN;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double server_cpu_seconds(void) {
  if (!server_pid) return NAN;
  double sum = 0;
  for (int i = 0; i < nserver_pids; i++) sum += process_cpu_seconds(server_pids[i]);
  return sum;
}

/** Nanoseconds a process waited on a run queue, runnable but not running (/proc/<pid>/schedstat, 2nd field). */
static double run_queue_wait_ns(int pid) {
  char path[64];
  if (pid) snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
  else snprintf(path, sizeof path, "/proc/self/schedstat");
  FILE *f = fopen(path, "r");
  if (!f) return NAN;
  unsigned long long run = 0, wait = 0;
  int fields = fscanf(f, "%llu %llu", &run, &wait);
  fclose(f);
  return fields == 2 ? (double)wait : NAN;
}

static double server_wait_ns(void) {
  double sum = 0;
  for (int i = 0; i < nserver_pids; i++) sum += run_queue_wait_ns(server_pids[i]);
  return sum;
}

static long server_rss_kib(void) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", server_pid);
  FILE *f = fopen(path, "r");
  if (!f) fail(1, "cannot read %s", path);
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  fclose(f);
  if (kib < 0) fail(1, "no VmRSS for pid %d", server_pid);
  return kib;
}

static double own_cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/** The kernel's share of this process's CPU time (system time). */
static double own_sys_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

typedef struct {
  uint64_t wall;
  double cpu, sys, server_cpu, wait, server_wait;
} window_t;

// CPU: fraction of one core used over the window. Wait: fraction of the window spent runnable on a run queue
// while another task had the core (a shared machine shows here, not in the CPU figures).
typedef struct {
  double seconds, gen_cpu, gen_sys, server_cpu, gen_wait, server_wait;
  uint64_t reads, polls;
} window_result;

static window_t window_start(void) {
  reads0 = reads;
  polls0 = polls;
  return (window_t){now_ns(), own_cpu_seconds(), own_sys_seconds(), server_cpu_seconds(), run_queue_wait_ns(0),
                    server_pid ? server_wait_ns() : NAN};
}

static window_result window_end(window_t start) {
  window_result r;
  uint64_t ns = now_ns() - start.wall;
  r.seconds = (double)ns / 1e9;
  r.gen_cpu = (own_cpu_seconds() - start.cpu) / r.seconds;
  r.gen_sys = (own_sys_seconds() - start.sys) / r.seconds;
  r.server_cpu = (server_cpu_seconds() - start.server_cpu) / r.seconds;
  r.gen_wait = (run_queue_wait_ns(0) - start.wait) / (double)ns;
  r.server_wait = server_pid ? (server_wait_ns() - start.server_wait) / (double)ns : NAN;
  r.reads = reads - reads0;
  r.polls = polls - polls0;
  return r;
}

static void print_window(window_result w) {
  printf(",\"reads\":%llu,\"polls\":%llu", (unsigned long long)w.reads, (unsigned long long)w.polls);
  jnum("seconds", w.seconds);
  jnum("genCpu", w.gen_cpu);
  jnum("genSys", w.gen_sys);
  jnum("serverCpu", w.server_cpu);
  jnum("genWait", w.gen_wait);
  jnum("serverWait", w.server_wait);
}

// ---------------------------------------------------------------------------------------------- latency histogram

// Log-linear buckets over nanoseconds: exact below 256 ns, then 128 buckets per power of two (< 0.8% error).
enum { SUB_BITS = 7, SUB = 1 << SUB_BITS, BUCKETS = (64 - SUB_BITS) * SUB + 2 * SUB };
static uint64_t histogram[BUCKETS];
static uint64_t samples;

static void record_ns(uint64_t ns) {
  int b;
  if (ns < 2 * SUB) b = (int)ns;
  else {
    int e = 63 - __builtin_clzll(ns) - SUB_BITS;
    b = (e << SUB_BITS) + (int)(ns >> e);
  }
  histogram[b]++;
  samples++;
}

/** The value at quantile q, in microseconds (midpoint of its bucket). */
static double quantile_us(double q) {
  if (samples == 0) return NAN;
  uint64_t rank = (uint64_t)(q * (double)samples);
  if (rank >= samples) rank = samples - 1;
  uint64_t seen = 0;
  for (int b = 0; b < BUCKETS; b++) {
    seen += histogram[b];
    if (seen > rank) {
      if (b < 2 * SUB) return b / 1000.0;
      int e = (b >> SUB_BITS) - 1;
      double low = (double)((uint64_t)(b - (e << SUB_BITS)) << e);
      return (low + (double)(1ull << e) / 2) / 1000.0;
    }
  }
  return NAN;
}

static double max_us(void) {
  for (int b = BUCKETS - 1; b >= 0; b--)
    if (histogram[b]) {
      if (b < 2 * SUB) return b / 1000.0;
      int e = (b >> SUB_BITS) - 1;
      return (double)(((uint64_t)(b - (e << SUB_BITS)) + 1) << e) / 1000.0;
    }
  return NAN;
}

static void print_latency(void) {
  printf(",\"samples\":%llu", (unsigned long long)samples);
  jnum("p50us", quantile_us(0.5));
  jnum("p99us", quantile_us(0.99));
  jnum("p999us", quantile_us(0.999));
  jnum("maxUs", max_us());
}

// ---------------------------------------------------------------------------------------------- frames

static uint8_t mask_key[4];

/** A masked client frame (FIN set) of `len` payload bytes into `out` (which has room); returns its length. */
static size_t build_frame(uint8_t *out, int opcode, const uint8_t *payload, uint64_t len) {
  size_t at = 0;
  out[at++] = (uint8_t)(0x80 | opcode);
  if (len < 126) out[at++] = (uint8_t)(0x80 | len);
  else if (len < 65536) {
    out[at++] = 0x80 | 126;
    out[at++] = (uint8_t)(len >> 8);
    out[at++] = (uint8_t)len;
  } else {
    out[at++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) out[at++] = (uint8_t)(len >> (8 * i));
  }
  memcpy(out + at, mask_key, 4);
  at += 4;
  for (uint64_t i = 0; i < len; i++) out[at + i] = payload[i] ^ mask_key[i & 3];
  return at + len;
}

static size_t frame_header_size(uint64_t len) { return 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + 4; }

/** `len` bytes of valid UTF-8 mixing 1- to 4-byte code points, padded with spaces. */
static void utf8_text(uint8_t *out, uint64_t len) {
  static const char *pieces[] = {"The quick brown fox ", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln, ",
                                 "\xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac ",
                                 "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e ", "emoji \xf0\x9f\x9a\x80\xe2\x9c\x93 ",
                                 "plain ascii words. "};
  uint64_t used = 0;
  for (int i = 0;; i++) {
    size_t piece = strlen(pieces[i % 6]);
    if (used + piece > len) break;
    memcpy(out + used, pieces[i % 6], piece);
    used += piece;
  }
  memset(out + used, ' ', len - used);
}

static void random_bytes(uint8_t *out, size_t len) {
  while (len > 0) {
    ssize_t n = getrandom(out, len > 65536 ? 65536 : len, 0);
    if (n <= 0) fail(1, "getrandom failed");
    out += n;
    len -= (size_t)n;
  }
}

// ---------------------------------------------------------------------------------------------- connections

enum { ST_FREE, ST_CONNECTING, ST_HEAD, ST_OPEN, ST_FAILED };
enum { ROLE_ECHO, ROLE_SUB, ROLE_PUB, ROLE_CYCLE };

typedef struct conn {
  int fd, state, role, want_out, got_close, index;
  uint32_t gen; // bumped per connection on this slot: events of an earlier socket are ignored
  int head_len;
  // frame walker
  uint8_t hdr[14];
  int hdr_len, hdr_need, in_payload;
  uint64_t remaining, plen;
  uint8_t op, fin, prefix[12];
  int prefix_len;
  // writing: pending bytes of a static buffer, then `owed` more frames
  const uint8_t *wptr;
  size_t wlen;
  uint64_t owed;
  // counting
  uint64_t frames, frames_before, sent_ns, started_ns;
  int completed; // frames completed by the current read
  uint32_t last_seq; // fan-out: the sequence number of the last message this subscriber got
  // last: the fields above share the first cache lines of each connection (10k of them in fan-out)
  char head[1024];
} conn;

static int ep;
static conn *conns;
static int nconns;
static uint8_t rbuf[256 * 1024];
static char request_sub[256], request_pub[256];
static size_t request_sub_len, request_pub_len;

// Counters common to the scenarios.
static uint64_t wrong_length, fragments, closed_by_server, closed_early, socket_errors, surplus, unexpected_frames;
static int running = 1, recording = 0;
static char first_error[160];

static void note_error(const char *what, int err) {
  if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s%s%s", what, err ? ": " : "", err ? strerror(err) : "");
}

// Fan-out subscribers are edge-triggered: with level-triggered epoll every epoll_wait polled each socket of the
// previous batch again (tcp_poll) only to find it empty, the largest cost left after the reads. An edge comes
// with every arrival of data, so one read that leaves the socket empty (it returned less than the buffer) is
// enough; a full buffer reads again (on_readable_all).
static uint32_t edge(const conn *c) { return c->role == ROLE_SUB ? EPOLLET : 0; }

static void set_events(conn *c, int want_out) {
  if (c->want_out == want_out) return;
  c->want_out = want_out;
  struct epoll_event ev = {.events = EPOLLIN | edge(c) | (want_out ? EPOLLOUT : 0), .data.u64 = (uint64_t)c->gen << 32 | (uint32_t)c->index};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int start_connect(conn *c, int role) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    note_error("socket", errno);
    return -1;
  }
  // Connection cycles write twice, each time after the peer answered (nothing unacknowledged): Nagle never
  // holds them back, so they skip the setsockopt.
  if (role != ROLE_CYCLE) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  int to_port = role == ROLE_PUB && pub_port > 0 ? pub_port : port;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)to_port), .sin_addr.s_addr = htonl(0x7f000001)};
  int index = c->index;
  uint32_t gen = c->gen + 1;
  memset(c, 0, sizeof *c);
  c->index = index;
  c->gen = gen;
  c->fd = fd;
  c->role = role;
  c->state = ST_CONNECTING;
  c->want_out = 1;
  c->hdr_need = 2;
  c->started_ns = now_ns();
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
    note_error("connect", errno);
    close(fd);
    c->state = ST_FAILED;
    return -1;
  }
  // On loopback the TCP handshake is usually done before connect() returns: the upgrade request goes out at
  // once, which saves a wait for EPOLLOUT, a getsockopt and an epoll_ctl per connection. If the socket is not
  // connected yet (EAGAIN), on_writable sends it.
  const char *req = role == ROLE_PUB ? request_pub : request_sub;
  size_t req_len = role == ROLE_PUB ? request_pub_len : request_sub_len;
  ssize_t sent = send(fd, req, req_len, MSG_NOSIGNAL);
  if (sent == (ssize_t)req_len) {
    c->state = ST_HEAD;
    c->want_out = 0;
  } else if (sent >= 0 || (errno != EAGAIN && errno != ENOTCONN)) {
    note_error(sent >= 0 ? "request write: partial" : "request write", sent >= 0 ? 0 : errno);
    close(fd);
    c->state = ST_FAILED;
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLIN | edge(c) | (c->want_out ? EPOLLOUT : 0), .data.u64 = (uint64_t)gen << 32 | (uint32_t)index};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

/** Ends a connection: with a reset (no TIME_WAIT left on the generator's ports) or a plain close. */
static void drop(conn *c, int reset) {
  if (c->state == ST_FREE || c->state == ST_FAILED) return;
  if (reset) {
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(c->fd); // the last reference to the socket: close() takes it out of the epoll set too
  c->state = ST_FREE;
}

// Scenario hooks, defined below.
static void on_open(conn *c);
static void on_frame(conn *c);
static void on_read_done(conn *c);
static void on_eof(conn *c, int err);

/** Writes what is pending, then what is owed (from `batch`, at most `inflight` frames per write). */
static const uint8_t *batch;
static size_t frame_len;

static void flush(conn *c) {
  for (int spins = 0; spins < 1024; spins++) {
    if (c->wlen == 0) {
      if (c->owed == 0) break;
      uint64_t k = c->owed < (uint64_t)inflight ? c->owed : (uint64_t)inflight;
      c->wptr = batch;
      c->wlen = k * frame_len;
      c->owed -= k;
    }
    ssize_t n = send(c->fd, c->wptr, c->wlen, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) break;
      socket_errors++;
      note_error("send", errno);
      c->wlen = 0;
      c->owed = 0;
      break;
    }
    c->wptr += n;
    c->wlen -= (size_t)n;
  }
  set_events(c, c->wlen > 0 || c->owed > 0);
}

/** Walks server frames by their headers; keeps the first 12 payload bytes of each. */
static void feed(conn *c, const uint8_t *buf, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (!c->in_payload) {
      c->hdr[c->hdr_len++] = buf[i++];
      if (c->hdr_len == 2) {
        if (c->hdr[1] & 0x80) unexpected_frames++; // a masked server frame
        int l = c->hdr[1] & 0x7f;
        c->hdr_need = 2 + (l == 126 ? 2 : l == 127 ? 8 : 0) + ((c->hdr[1] & 0x80) ? 4 : 0);
      }
      if (c->hdr_len < c->hdr_need) continue;
      int l = c->hdr[1] & 0x7f;
      uint64_t len = (uint64_t)l;
      if (l == 126) len = ((uint64_t)c->hdr[2] << 8) | c->hdr[3];
      else if (l == 127) {
        len = 0;
        for (int k = 2; k < 10; k++) len = (len << 8) | c->hdr[k];
      }
      c->op = c->hdr[0] & 0x0f;
      c->fin = c->hdr[0] >> 7;
      c->plen = c->remaining = len;
      c->prefix_len = 0;
      c->hdr_len = 0;
      c->hdr_need = 2;
      c->in_payload = 1;
    }
    size_t take = n - i;
    if (take > c->remaining) take = (size_t)c->remaining;
    if (c->prefix_len < 12 && buf) {
      size_t copy = take < (size_t)(12 - c->prefix_len) ? take : (size_t)(12 - c->prefix_len);
      memcpy(c->prefix + c->prefix_len, buf + i, copy);
      c->prefix_len += (int)copy;
    }
    i += take;
    c->remaining -= take;
    if (c->remaining == 0) {
      c->in_payload = 0;
      if (c->op == 0x8) {
        c->got_close = 1;
        closed_by_server++;
      } else if (c->op == 0x9 || c->op == 0xa) {
        // pings and pongs are not counted
      } else {
        if (!c->fin || c->op == 0) fragments++;
        on_frame(c);
      }
    }
  }
}

static int check_head(conn *c, int end) {
  if (strncmp(c->head, "HTTP/1.1 101", 12) != 0) {
    c->head[strcspn(c->head, "\r")] = 0;
    if (!first_error[0]) snprintf(first_error, sizeof first_error, "unexpected status line: %.100s", c->head);
    return -1;
  }
  for (char *p = c->head; p < c->head + end; p++) {
    if (*p == '\n' && strncasecmp(p + 1, "sec-websocket-accept:", 21) == 0) {
      char *v = p + 22;
      while (*v == ' ') v++;
      if (strncmp(v, ACCEPT, sizeof ACCEPT - 1) == 0) return 0;
      note_error("wrong Sec-WebSocket-Accept", 0);
      return -1;
    }
  }
  note_error("no Sec-WebSocket-Accept header", 0);
  return -1;
}

static void cycle_failed(conn *c, const char *what, int err);

static void handshake_failed(conn *c, const char *what, int err) {
  if (sc == SC_HANDSHAKE) return cycle_failed(c, what, err);
  note_error(what, err);
  drop(c, 1);
  c->state = ST_FAILED;
}

static int read_filled; // the last read filled its buffer (or dropped payload): there may be more

// The time of the current read (fan-out latency: one clock read per read, not per frame).
static uint64_t read_ns;
// Payload bytes dropped in the kernel (MSG_TRUNC) rather than copied out.
static uint64_t skipped_bytes;

/**
 * Inside a large payload whose bytes we no longer need (its first 12 are kept), TCP's MSG_TRUNC discards them
 * in the kernel without copying them out (tcp(7)); the frame walker then goes on as if it had read them.
 * Returns 1 when it handled the read.
 */
static int skip_payload(conn *c) {
  if (c->state != ST_OPEN || !c->in_payload || c->prefix_len < 12 || c->remaining < 4096) return 0;
  size_t want = c->remaining > (1u << 30) ? (1u << 30) : (size_t)c->remaining;
  ssize_t n = recv(c->fd, rbuf, want, MSG_TRUNC);
  if (n <= 0) return 0; // EAGAIN, EOF and errors: the ordinary read below sees them again
  skipped_bytes += (uint64_t)n;
  read_filled = 1; // read on: an edge-triggered socket may hold more
  c->completed = 0;
  feed(c, NULL, (size_t)n);
  on_read_done(c);
  return 1;
}

// Echoes of large messages (--size >= 16 KiB): an open connection reads a frame's header and first bytes only (22
// bytes at most: a 10-byte header and the 12 kept), then drops the payload with MSG_TRUNC, so the generator does not
// copy out what it never looks at (at 64 KiB and beyond the copy was most of its CPU).
static int big_frames;

static void on_readable(conn *c) {
  reads++;
  if (sc == SC_FANOUT) read_ns = now_ns();
  if (skip_payload(c)) return;
  size_t want = big_frames && c->state == ST_OPEN ? 22 : sizeof rbuf;
  ssize_t n = recv(c->fd, rbuf, want, 0);
  read_filled = n == (ssize_t)want;
  if (n < 0) {
    if (errno == EAGAIN) return;
    if (c->state != ST_OPEN) return handshake_failed(c, "handshake read", errno);
    return on_eof(c, errno);
  }
  if (n == 0) {
    if (c->state != ST_OPEN) return handshake_failed(c, "connection closed during the handshake", 0);
    return on_eof(c, 0);
  }
  size_t at = 0;
  if (c->state == ST_HEAD) {
    size_t room = sizeof c->head - 1 - (size_t)c->head_len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(c->head + c->head_len, rbuf, take);
    int before = c->head_len;
    c->head_len += (int)take;
    c->head[c->head_len] = 0;
    char *end = strstr(c->head, "\r\n\r\n");
    if (!end) {
      if (c->head_len >= (int)sizeof c->head - 1) handshake_failed(c, "response head too large", 0);
      return;
    }
    int head_end = (int)(end - c->head) + 4;
    if (check_head(c, head_end) < 0) return handshake_failed(c, "bad upgrade response", 0);
    c->state = ST_OPEN;
    at = (size_t)(head_end - before);
    on_open(c);
    if (c->state != ST_OPEN) return;
  }
  c->completed = 0;
  feed(c, rbuf + at, (size_t)n - at);
  on_read_done(c);
  if (big_frames && c->state == ST_OPEN) skip_payload(c); // the rest of this frame's payload, if it is there
}

static void on_writable(conn *c) {
  if (c->state == ST_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return handshake_failed(c, "connect", err);
    const char *req = c->role == ROLE_PUB ? request_pub : request_sub;
    size_t req_len = c->role == ROLE_PUB ? request_pub_len : request_sub_len;
    if (send(c->fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) return handshake_failed(c, "request write", errno);
    c->state = ST_HEAD;
    set_events(c, 0);
    return;
  }
  flush(c);
}

/** One turn of the loop: waits at most `timeout_ms` for events and handles them. */
static int poll_once(int timeout_ms) {
  static struct epoll_event events[4096];
  int n = epoll_wait(ep, events, 4096, timeout_ms);
  polls++;
  for (int i = 0; i < n; i++) {
    conn *c = &conns[(uint32_t)events[i].data.u64];
    if (c->gen != (uint32_t)(events[i].data.u64 >> 32) || c->state == ST_FREE || c->state == ST_FAILED) continue;
    if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
      if (c->role != ROLE_SUB) on_readable(c);
      else {
        uint32_t gen = c->gen;
        for (int k = 0; k < 64; k++) {
          read_filled = 0;
          on_readable(c);
          if (!read_filled || c->gen != gen || c->state == ST_FREE || c->state == ST_FAILED) break;
        }
      }
    }
    if (c->state == ST_FREE || c->state == ST_FAILED) continue;
    if (events[i].events & EPOLLOUT) on_writable(c);
  }
  return n;
}

static void run_for_ms(int ms, void (*tick)(uint64_t now)) {
  uint64_t end = now_ns() + (uint64_t)ms * 1000000ull;
  for (uint64_t now = now_ns(); now < end; now = now_ns()) {
    int left = (int)((end - now) / 1000000ull) + 1;
    int events = poll_once(tick ? 1 : left);
    if (tick) tick(now_ns());
    // Fan-out at full speed (--pause-us): a short sleep after a busy turn lets frames pile up in the sockets,
    // so that one read takes several and the generator spends fewer syscalls per delivery.
    if (pause_us > 0 && events > 0 && tick) {
      struct timespec ts = {0, (long)pause_us * 1000};
      nanosleep(&ts, NULL);
    }
  }
}

/** Opens conns[from..to) with at most OPEN_CONCURRENCY handshakes at a time; fails the run on any failure. */
static void open_range(int from, int to, int role_last_pub) {
  int next = from, opened = 0, pending = 0;
  uint64_t deadline = now_ns() + (uint64_t)(to - from) * 10000000ull + 30000000000ull;
  while (opened < to - from) {
    while (pending < OPEN_CONCURRENCY && next < to) {
      int role = role_last_pub && next == to - 1 ? ROLE_PUB : (!strcmp(scenario, "fanout") ? ROLE_SUB : ROLE_ECHO);
      if (start_connect(&conns[next], role) < 0) fail(1, "%s", first_error);
      next++;
      pending++;
    }
    poll_once(10);
    int still = 0, done = 0;
    uint64_t now = now_ns();
    for (int i = from; i < next; i++) {
      conn *c = &conns[i];
      if (c->state == ST_FAILED) fail(1, "%s", first_error);
      if (c->state == ST_OPEN) done++;
      else {
        still++;
        if (now - c->started_ns > HANDSHAKE_TIMEOUT_MS * 1000000ull) fail(1, "handshake timeout");
      }
    }
    opened = done;
    pending = still;
    if (now > deadline) fail(1, "opening %d connections took too long", to - from);
  }
}

static void reset_all(void) {
  for (int i = 0; i < nconns; i++) drop(&conns[i], 1);
}

// ---------------------------------------------------------------------------------------------- throughput, latency

static int latency_mode;
static uint64_t echoes;

static void echo_frame(conn *c) {
  if (c->plen != size) wrong_length++;
  c->frames++;
  c->completed++;
  echoes++;
  if (latency_mode) {
    uint64_t now = now_ns();
    if (recording) record_ns(now - c->sent_ns);
    c->sent_ns = now;
  }
}

static void echo_read_done(conn *c) {
  if (!running || c->completed == 0) return;
  uint64_t k = (uint64_t)c->completed;
  if (k > (uint64_t)inflight) {
    surplus += k - (uint64_t)inflight;
    k = (uint64_t)inflight;
  }
  c->owed += k;
  flush(c);
}

static void throughput(void) {
  int n = latency_mode ? 1 : conns_opt;
  if (latency_mode) inflight = 1;
  size_t fl = frame_header_size(size) + size;
  uint8_t *payload = malloc(size ? size : 1);
  uint8_t *buf = malloc(fl * (size_t)inflight);
  if (!payload || !buf) fail(1, "out of memory");
  if (text) utf8_text(payload, size);
  else random_bytes(payload, size);
  build_frame(buf, text ? 0x1 : 0x2, payload, size);
  for (int k = 1; k < inflight; k++) memcpy(buf + k * fl, buf, fl);
  batch = buf;
  frame_len = fl;

  nconns = n;
  open_range(0, n, 0);
  for (int i = 0; i < n; i++) {
    conns[i].owed = (uint64_t)inflight;
    conns[i].sent_ns = now_ns();
    flush(&conns[i]);
  }
  run_for_ms(warmup_ms, NULL);
  uint64_t before = echoes;
  for (int i = 0; i < n; i++) conns[i].frames_before = conns[i].frames;
  recording = 1;
  window_t start = window_start();
  run_for_ms(duration_ms, NULL);
  window_result w = window_end(start);
  uint64_t messages = echoes - before;
  recording = 0;
  running = 0;
  int stalled = 0;
  for (int i = 0; i < n; i++)
    if (conns[i].frames == conns[i].frames_before) stalled++;
  reset_all();

  printf("{\"ok\":true,\"generator\":\"c\",\"scenario\":\"%s\",\"size\":%llu,\"text\":%s,\"conns\":%d,\"inflight\":%d,\"messages\":%llu",
         latency_mode ? "latency" : "throughput", (unsigned long long)size, text ? "true" : "false", n, inflight,
         (unsigned long long)messages);
  print_window(w);
  jnum("msgsPerSec", (double)messages / w.seconds);
  jnum("mbPerSec", (double)messages * (double)size / w.seconds / 1e6);
  jnum("perServerCpuSec", w.server_cpu > 0 ? (double)messages / (w.server_cpu * w.seconds) : NAN);
  printf(",\"stalledConnections\":%d,\"wrongLength\":%llu,\"fragments\":%llu,\"closedByServer\":%llu,\"closedEarly\":%llu,"
         "\"socketErrors\":%llu,\"surplusEchoes\":%llu",
         stalled, (unsigned long long)wrong_length, (unsigned long long)fragments, (unsigned long long)closed_by_server,
         (unsigned long long)closed_early, (unsigned long long)socket_errors, (unsigned long long)surplus);
  if (latency_mode) print_latency();
}

// ---------------------------------------------------------------------------------------------- handshakes

static uint8_t close_frame[8];
static uint64_t hs_done, hs_errors, hs_cycles;
static int counting;
static uint64_t *restart_at; // per slot: when a failed slot may start its next cycle (0 = now)

static void cycle_start(conn *c) {
  if (!running || hs_cycles >= MAX_HS_CYCLES) {
    c->state = ST_FREE;
    return;
  }
  hs_cycles++;
  if (start_connect(c, ROLE_CYCLE) < 0) {
    if (counting) hs_errors++;
    restart_at[c->index] = now_ns() + 5000000ull;
  }
}

static void cycle_failed(conn *c, const char *what, int err) {
  if (counting) hs_errors++;
  note_error(what, err);
  drop(c, 1);
  c->state = ST_FAILED;
  restart_at[c->index] = now_ns() + 5000000ull;
}

static void cycle_open(conn *c) {
  // Our close frame goes right after the response head; the server's close frame and EOF end the cycle.
  if (send(c->fd, close_frame, sizeof close_frame, MSG_NOSIGNAL) != (ssize_t)sizeof close_frame) cycle_failed(c, "close write", errno);
}

static void cycle_read_done(conn *c) {
  // The close frames have crossed. As RFC 6455 section 7.1.1 wants, the server closes the TCP connection first
  // (and keeps the TIME_WAIT); the client closes its end when it reads the server's EOF (cycle_eof). An
  // earlier version shut down its end here, which left the TIME_WAIT sockets, and their cost in the next
  // connect's port search, on the generator's side.
  (void)c;
}

static void cycle_eof(conn *c, int err) {
  if (c->got_close == 0 || err) return cycle_failed(c, err ? "read" : "closed before the close handshake finished", err);
  if (counting) hs_done++;
  drop(c, 0);
  cycle_start(c);
}

static void handshake_tick(uint64_t now) {
  for (int i = 0; i < nconns; i++) {
    conn *c = &conns[i];
    if (c->state == ST_FAILED) {
      if (now >= restart_at[i]) cycle_start(c);
    } else if (c->state != ST_FREE && now - c->started_ns > HANDSHAKE_TIMEOUT_MS * 1000000ull) {
      cycle_failed(c, "cycle timeout", 0);
    }
  }
}

static void handshakes(void) {
  nconns = concurrency;
  restart_at = calloc((size_t)nconns, sizeof *restart_at);
  uint8_t body[2] = {0x03, 0xe8};
  build_frame(close_frame, 0x8, body, 2);
  for (int i = 0; i < nconns; i++) cycle_start(&conns[i]);
  run_for_ms(warmup_ms, handshake_tick);
  counting = 1;
  window_t start = window_start();
  run_for_ms(duration_ms, handshake_tick);
  window_result w = window_end(start);
  uint64_t done = hs_done;
  counting = 0;
  running = 0;
  // Let the cycles in progress finish (bounded), then reset what is left.
  run_for_ms(300, handshake_tick);
  reset_all();
  printf("{\"ok\":true,\"generator\":\"c\",\"scenario\":\"handshake\",\"concurrency\":%d,\"handshakes\":%llu", concurrency,
         (unsigned long long)done);
  print_window(w);
  jnum("perSec", (double)done / w.seconds);
  jnum("perServerCpuSec", w.server_cpu > 0 ? (double)done / (w.server_cpu * w.seconds) : NAN);
  printf(",\"errors\":%llu,\"firstError\":\"%s\"", (unsigned long long)hs_errors, hs_errors ? first_error : "");
}

// ---------------------------------------------------------------------------------------------- idle connections

static uint64_t idle_lost;

static void idle(void) {
  if (!server_pid) fail(2, "--server-pid is needed for the idle scenario");
  int n = conns_opt;
  // Warm the server's code paths first so that lazily loaded code is not charged to the connections.
  nconns = n < 200 ? n : 200;
  open_range(0, nconns, 0);
  reset_all();
  run_for_ms(500, NULL);
  long before = server_rss_kib();
  nconns = n;
  window_t start = window_start();
  open_range(0, n, 0);
  window_result w = window_end(start);
  run_for_ms(settle_ms, NULL);
  long after = server_rss_kib();
  int alive = 0;
  for (int i = 0; i < n; i++)
    if (conns[i].state == ST_OPEN) alive++;
  running = 0;
  reset_all();
  printf("{\"ok\":true,\"generator\":\"c\",\"scenario\":\"idle\",\"conns\":%d,\"alive\":%d,\"rssBeforeKiB\":%ld,\"rssAfterKiB\":%ld", n,
         alive, before, after);
  jnum("bytesPerConn", (double)(after - before) * 1024.0 / n);
  jnum("openSeconds", w.seconds);
  jnum("opensPerSec", n / w.seconds);
  jnum("genCpu", w.gen_cpu);
  jnum("serverCpu", w.server_cpu);
  jnum("genWait", w.gen_wait);
  jnum("serverWait", w.server_wait);
  printf(",\"socketErrors\":%llu,\"closedEarly\":%llu", (unsigned long long)socket_errors, (unsigned long long)idle_lost);
}

// ---------------------------------------------------------------------------------------------- fan-out

// Each published message carries its send time (8 bytes, CLOCK_MONOTONIC ns) and its sequence number (4 bytes).
// A message is complete when all S subscribers got it; one still incomplete after FANOUT_LOST_MS counts the
// missing deliveries as lost and frees its place in the window.
static uint64_t slot_seq[FANOUT_RING], slot_sent[FANOUT_RING];
static uint32_t slot_count[FANOUT_RING];
static uint8_t slot_open[FANOUT_RING];
static uint64_t published, completed_msgs, deliveries, lost, oldest, pending_msgs, not_sent, pub_received;
static uint64_t duplicates, skipped_msgs;
static uint8_t *pub_frame;
static size_t pub_header;
static conn *publisher;
static uint64_t next_publish_ns, publish_interval_ns;
static int publishing;

static void close_slot(int slot);

static void publish_one(uint64_t now) {
  uint64_t seq = published + 1;
  uint8_t stamp[12];
  memcpy(stamp, &now, 8);
  uint32_t s32 = (uint32_t)seq;
  memcpy(stamp + 8, &s32, 4);
  for (int i = 0; i < 12; i++) pub_frame[pub_header + (size_t)i] = stamp[i] ^ mask_key[i & 3];
  publisher->wptr = pub_frame;
  publisher->wlen = frame_len;
  publisher->owed = 0;
  flush(publisher);
  published = seq;
  int slot = (int)(seq % FANOUT_RING);
  if (slot_open[slot]) { // a whole ring later, still incomplete
    lost += (uint64_t)subs - slot_count[slot];
    close_slot(slot);
  }
  slot_seq[slot] = seq;
  slot_sent[slot] = now;
  slot_count[slot] = 0;
  slot_open[slot] = 1;
  pending_msgs++;
}

static void close_slot(int slot) {
  slot_open[slot] = 0;
  pending_msgs--;
}

static void fanout_frame(conn *c) {
  if (c->role == ROLE_PUB) {
    pub_received++;
    return;
  }
  if (c->plen != size) wrong_length++;
  c->frames++;
  deliveries++;
  if (c->prefix_len < 12) return;
  uint64_t sent;
  uint32_t s32;
  memcpy(&sent, c->prefix, 8);
  memcpy(&s32, c->prefix + 8, 4);
  if (recording) record_ns(read_ns - sent);
  // Each subscriber gets the publisher's messages in order, each once: a step back is a duplicate (or a
  // reordering), a step over skips messages this subscriber never gets.
  if (s32 <= c->last_seq) duplicates++;
  else {
    skipped_msgs += s32 - c->last_seq - 1;
    c->last_seq = s32;
  }
  // The ring holds the last FANOUT_RING sequence numbers; their low 32 bits identify them.
  int slot = (int)((uint64_t)s32 % FANOUT_RING);
  if (slot_open[slot] && (uint32_t)slot_seq[slot] == s32 && ++slot_count[slot] == (uint32_t)subs) {
    close_slot(slot);
    completed_msgs++;
  }
}

static void fanout_tick(uint64_t now) {
  // Messages that did not reach everyone in time.
  while (oldest < published && (!slot_open[(oldest + 1) % FANOUT_RING] || now - slot_sent[(oldest + 1) % FANOUT_RING] > FANOUT_LOST_MS * 1000000ull)) {
    int slot = (int)((oldest + 1) % FANOUT_RING);
    if (slot_open[slot]) {
      lost += (uint64_t)subs - slot_count[slot];
      close_slot(slot);
    }
    oldest++;
  }
  if (!running || !publishing) return;
  for (int burst = 0; burst < 64; burst++) {
    if (publisher->wlen > 0) return; // the socket is full: the window waits
    if (rate > 0) {
      if (now < next_publish_ns) return;
      next_publish_ns += publish_interval_ns;
      if (pending_msgs >= (uint64_t)inflight || pending_msgs >= FANOUT_RING - 1) {
        not_sent++;
        continue;
      }
    } else if (pending_msgs >= (uint64_t)inflight) {
      return;
    }
    publish_one(now);
  }
}

static void fanout_read_done(conn *c) {
  (void)c; // the loop publishes after each turn (fanout_tick), not after each read
}

static void fanout(void) {
  if (subs < 1 || subs + 1 > MAX_CONNS) fail(2, "--subs must be 1..%d", MAX_CONNS - 1);
  if (size < 12) fail(2, "--size must be at least 12 for fan-out (timestamp and sequence number)");
  if (inflight < 1 || inflight >= FANOUT_RING) fail(2, "--inflight must be 1..%d", FANOUT_RING - 1);
  uint8_t *payload = malloc(size);
  frame_len = frame_header_size(size) + size;
  pub_frame = malloc(frame_len);
  if (!payload || !pub_frame) fail(1, "out of memory");
  random_bytes(payload, size);
  build_frame(pub_frame, 0x2, payload, size);
  pub_header = frame_header_size(size);

  nconns = subs + 1;
  open_range(0, nconns, 1);
  publisher = &conns[subs];
  // Let the server finish its subscriptions before the first publish.
  run_for_ms(200, NULL);
  publish_interval_ns = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
  next_publish_ns = now_ns();
  publishing = 1;

  run_for_ms(warmup_ms, fanout_tick);
  uint64_t d0 = deliveries, p0 = published, l0 = lost, c0 = completed_msgs;
  for (int i = 0; i < subs; i++) conns[i].frames_before = conns[i].frames;
  recording = 1;
  window_t start = window_start();
  run_for_ms(duration_ms, fanout_tick);
  window_result w = window_end(start);
  recording = 0;
  uint64_t got = deliveries - d0, pubs = published - p0, done = completed_msgs - c0, missing = lost - l0;
  // Drain: no more publishes; wait (bounded) until every message so far reached every subscriber or timed out,
  // then check the whole run's count: each subscriber must have had every message once.
  // A slow server may still be delivering messages the window gave up on (lost after FANOUT_LOST_MS): the drain
  // waits for every subscriber's last message, up to FANOUT_DRAIN_MS.
  publishing = 0;
  uint64_t drain_end = now_ns() + FANOUT_DRAIN_MS * 1000000ull;
  for (int behind = subs; behind > 0 && now_ns() < drain_end;) {
    poll_once(1);
    fanout_tick(now_ns());
    behind = 0;
    for (int i = 0; i < subs; i++)
      if (conns[i].last_seq != (uint32_t)published && conns[i].state == ST_OPEN) behind++;
  }
  running = 0;
  int stalled = 0, closed = 0;
  uint64_t tail = 0;
  for (int i = 0; i < subs; i++) {
    if (conns[i].frames == conns[i].frames_before) stalled++;
    if (conns[i].state != ST_OPEN) closed++;
    tail += published - conns[i].last_seq;
  }
  reset_all();
  printf("{\"ok\":true,\"generator\":\"c\",\"scenario\":\"fanout\",\"subs\":%d,\"size\":%llu,\"inflight\":%d", subs,
         (unsigned long long)size, inflight);
  jnum("rate", rate);
  printf(",\"publishes\":%llu,\"completeMessages\":%llu,\"deliveries\":%llu", (unsigned long long)pubs, (unsigned long long)done,
         (unsigned long long)got);
  print_window(w);
  jnum("deliveriesPerSec", (double)got / w.seconds);
  jnum("publishesPerSec", (double)pubs / w.seconds);
  jnum("perServerCpuSec", w.server_cpu > 0 ? (double)got / (w.server_cpu * w.seconds) : NAN);
  print_latency();
  printf(",\"pauseUs\":%d,\"totalPublished\":%llu,\"totalDeliveries\":%llu,\"missedDeliveries\":%llu,\"duplicateDeliveries\":%llu",
         pause_us, (unsigned long long)published, (unsigned long long)deliveries, (unsigned long long)(skipped_msgs + tail),
         (unsigned long long)duplicates);
  printf(",\"lostDeliveries\":%llu,\"publishesNotSent\":%llu,\"publisherReceived\":%llu,\"stalledConnections\":%d,"
         "\"closedEarly\":%d,\"wrongLength\":%llu,\"fragments\":%llu,\"socketErrors\":%llu",
         (unsigned long long)missing, (unsigned long long)not_sent, (unsigned long long)pub_received, stalled, closed,
         (unsigned long long)wrong_length, (unsigned long long)fragments, (unsigned long long)socket_errors);
}

// ---------------------------------------------------------------------------------------------- scenario hooks

static void on_open(conn *c) {
  if (sc == SC_HANDSHAKE) cycle_open(c);
}

static void on_frame(conn *c) {
  if (sc == SC_THROUGHPUT) echo_frame(c);
  else if (sc == SC_FANOUT) fanout_frame(c);
  else if (sc == SC_IDLE) unexpected_frames++;
}

static void on_read_done(conn *c) {
  if (sc == SC_THROUGHPUT) echo_read_done(c);
  else if (sc == SC_HANDSHAKE) cycle_read_done(c);
  else if (sc == SC_FANOUT) fanout_read_done(c);
}

static void on_eof(conn *c, int err) {
  if (sc == SC_HANDSHAKE) return cycle_eof(c, err);
  if (err) {
    socket_errors++;
    note_error("read", err);
  }
  if (running) {
    closed_early++;
    idle_lost++;
  }
  drop(c, 1);
}

// ---------------------------------------------------------------------------------------------- main

static long num_arg(const char *name, const char *v) {
  char *end;
  long n = strtol(v, &end, 10);
  if (*v == 0 || *end != 0 || n < 0) fail(2, "%s needs a non-negative integer, got %s", name, v);
  return n;
}

int main(int argc, char **argv) {
  read_cpus_allowed();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--text")) {
      text = 1;
      continue;
    }
    if (i + 1 >= argc) fail(2, "%s needs a value", a);
    const char *v = argv[++i];
    if (!strcmp(a, "--scenario")) scenario = v;
    else if (!strcmp(a, "--port")) port = (int)num_arg(a, v);
    else if (!strcmp(a, "--pub-port")) pub_port = (int)num_arg(a, v);
    else if (!strcmp(a, "--host")) {
      if (strcmp(v, "127.0.0.1")) fail(2, "connects to 127.0.0.1 only");
    } else if (!strcmp(a, "--size")) size = (uint64_t)num_arg(a, v);
    else if (!strcmp(a, "--conns")) conns_opt = (int)num_arg(a, v);
    else if (!strcmp(a, "--inflight")) inflight = (int)num_arg(a, v);
    else if (!strcmp(a, "--concurrency")) concurrency = (int)num_arg(a, v);
    else if (!strcmp(a, "--warmup")) warmup_ms = (int)num_arg(a, v);
    else if (!strcmp(a, "--duration")) duration_ms = (int)num_arg(a, v);
    else if (!strcmp(a, "--settle")) settle_ms = (int)num_arg(a, v);
    else if (!strcmp(a, "--server-pid")) {
      char list[256];
      snprintf(list, sizeof list, "%s", v);
      for (char *save = NULL, *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (nserver_pids == MAX_SERVER_PIDS) fail(2, "--server-pid takes at most %d pids", MAX_SERVER_PIDS);
        server_pids[nserver_pids++] = (int)num_arg(a, item);
      }
      server_pid = nserver_pids ? server_pids[0] : 0;
    }
    else if (!strcmp(a, "--subs")) subs = (int)num_arg(a, v);
    else if (!strcmp(a, "--rate")) rate = (double)num_arg(a, v);
    else if (!strcmp(a, "--pause-us")) pause_us = (int)num_arg(a, v);
    else fail(2, "unknown option %s", a);
  }
  if (port <= 0 || port > 65535) fail(2, "usage: --scenario throughput|latency|handshake|idle|fanout --port P");
  if (conns_opt < 1 || conns_opt > MAX_CONNS || concurrency < 1 || concurrency > MAX_CONNS || inflight < 1 || inflight > 4096)
    fail(2, "--conns/--concurrency must be 1..%d, --inflight 1..4096", MAX_CONNS);
  if (size > (64ull << 20)) fail(2, "--size must be at most 64 MiB");
  if (pause_us > 20000) fail(2, "--pause-us must be 0..20000");
  if (pause_us > 0 && (strcmp(scenario, "fanout") || rate > 0)) fail(2, "--pause-us is for fan-out at full speed only (no --rate)");


  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  random_bytes(mask_key, 4);
  const char *fmt = "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  int is_fanout = !strcmp(scenario, "fanout");
  // The hard deadline: whatever happens, this process ends.
  signal(SIGALRM, on_alarm);
  // Opening many connections on a busy machine takes time: 5 ms more per connection.
  int opened = is_fanout ? subs + 1 : !strcmp(scenario, "handshake") ? 0 : conns_opt;
  alarm((unsigned)((warmup_ms + duration_ms + settle_ms) / 1000 + 60 + opened / 200));
  request_sub_len = (size_t)snprintf(request_sub, sizeof request_sub, fmt, is_fanout ? "/sub" : "/", port);
  request_pub_len = (size_t)snprintf(request_pub, sizeof request_pub, fmt, "/pub", port);

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail(1, "epoll_create1: %s", strerror(errno));
  conns = calloc(MAX_CONNS, sizeof *conns);
  if (!conns) fail(1, "out of memory");
  for (int i = 0; i < MAX_CONNS; i++) conns[i].index = i;

  if (!strcmp(scenario, "throughput") || !strcmp(scenario, "latency")) {
    sc = SC_THROUGHPUT;
    latency_mode = !strcmp(scenario, "latency");
    big_frames = size >= 16384;
    throughput();
  } else if (!strcmp(scenario, "handshake")) {
    sc = SC_HANDSHAKE;
    handshakes();
  } else if (!strcmp(scenario, "idle")) {
    sc = SC_IDLE;
    idle();
  } else if (is_fanout) {
    sc = SC_FANOUT;
    fanout();
  } else {
    fail(2, "unknown scenario %s", scenario);
  }
  printf(",\"unexpectedFrames\":%llu,\"genCpus\":\"%s\"}\n", (unsigned long long)unexpected_frames, cpus_allowed);
  fflush(stdout);
  return 0;
}
