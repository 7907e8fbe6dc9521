#include "http/herd_report.h"

#include <fmt/format.h>

#include <bit>
#include <chrono>
#include <cstdlib>
#include <string>

#include "herd/base/log.h"
#include "herd/net/socket_activation.h"

namespace herd::http::detail {
namespace {

// Bucket i holds latencies from 2^(i/4) µs (4 buckets per doubling, from 1 µs).
int bucket_of(std::uint64_t ns) {
  std::uint64_t us = ns / 1000;
  if (us == 0) return 0;
  int log2 = 63 - std::countl_zero(us);
  // The two bits under the leading one pick the quarter.
  int quarter = log2 >= 2 ? static_cast<int>((us >> (log2 - 2)) & 3)
                          : static_cast<int>((us << (2 - log2)) & 3);
  int b = log2 * 4 + quarter;
  return b < 128 ? b : 127;
}

// The lower bound of bucket b, in microseconds; bucket b ends where b + 1 begins.
double bucket_low_us(int b) { return static_cast<double>(1ULL << (b / 4)) * (1.0 + (b % 4) / 4.0); }

double bucket_top_ms(int b) { return bucket_low_us(b + 1) / 1000.0; }

}  // namespace

HerdReport::HerdReport(EventLoop& loop, const ServerMetrics& metrics)
    : loop_(loop), metrics_(metrics), timer_(loop) {
  timer_.unref();
}

HerdReport::~HerdReport() { timer_.stop(); }

std::uint64_t HerdReport::now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

void HerdReport::start() {
  if (active_) return;
  const char* every = std::getenv("HERD_CODE_METRICS");
  const char* notify = std::getenv("NOTIFY_SOCKET");
  if (every == nullptr || notify == nullptr || *notify == '\0') return;
  char* end = nullptr;
  unsigned long long ms = std::strtoull(every, &end, 10);
  if (end == every || *end != '\0' || ms == 0 || ms > 3'600'000) return;
  interval_ms_ = ms;
  last_send_ms_ = loop_.now();
  active_ = true;
  timer_.start([this] { send(); }, interval_ms_, interval_ms_);
}

void HerdReport::record(std::uint64_t latency_ns) {
  ++count_;
  sum_ns_ += latency_ns;
  if (latency_ns > max_ns_) max_ns_ = latency_ns;
  ++buckets_[bucket_of(latency_ns)];
}

void HerdReport::send() {
  std::uint64_t total = 0;
  for (int cls = 1; cls <= 5; ++cls) total += metrics_.requests_by_class[cls];
  // An idle server would repeat itself (the same total, no latency): such a report goes out only
  // every kIdleEvery intervals, so that a hundred idle servers do not wake the daemon a hundred
  // times a second while the figure it shows stays recent. Its interval_ms covers the skipped
  // intervals too.
  if (sent_any_ && count_ == 0 && total == last_total_ && !last_had_latency_ &&
      ++idle_skipped_ < kIdleEvery) {
    return;
  }
  idle_skipped_ = 0;
  sent_any_ = true;
  last_total_ = total;
  last_had_latency_ = count_ > 0;
  std::uint64_t now = loop_.now();
  std::string line = fmt::format("HERD_METRICS={{\"http_requests_total\":{},\"interval_ms\":{}",
                                 total, now - last_send_ms_);
  last_send_ms_ = now;
  if (count_ > 0) {
    std::uint64_t rank = (count_ * 99 + 99) / 100;  // ceil(0.99 * count)
    std::uint64_t seen = 0;
    int b = 0;
    for (; b < kBuckets; ++b) {
      seen += buckets_[b];
      if (seen >= rank) break;
    }
    double max_ms = static_cast<double>(max_ns_) / 1e6;
    double p99 = std::min(bucket_top_ms(b), max_ms);
    line += fmt::format(
        ",\"http_latency_mean_ms\":{:.4f},\"http_latency_p99_ms\":{:.4f},"
        "\"http_latency_max_ms\":{:.4f}",
        static_cast<double>(sum_ns_) / static_cast<double>(count_) / 1e6, p99, max_ms);
  }
  line += '}';
  count_ = sum_ns_ = max_ns_ = 0;
  buckets_.fill(0);
  if (Status s = sd_notify(line); !s && !warned_) {
    warned_ = true;  // once: the daemon may be gone for a moment (herd update)
    log_warn("http: sd_notify HERD_METRICS: {}", s.error().message());
  }
}

}  // namespace herd::http::detail
