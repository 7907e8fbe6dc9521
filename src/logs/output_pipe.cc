#include "logs/output_pipe.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>

namespace herd::manager {
namespace {

// One read buffer per thread, shared by every pipe on that thread's loop: a read is processed
// completely (split, written, delivered) before the callback returns, and no other pipe reads
// meanwhile, so per-pipe buffers would only cost memory (the daemon aims at a few MB of RSS
// with many apps).
constexpr std::size_t kReadBufferSize = 64 * 1024;
thread_local std::array<char, kReadBufferSize> read_buffer;

// A read of many short lines with timestamps grows the batch well past the bytes read (a 30-byte
// prefix on each of 64 Ki one-byte lines is 2 MiB). Past this size the batch is written out
// early, so the daemon's memory stays small whatever the app writes.
constexpr std::size_t kMaxBatch = 256 * 1024;

}  // namespace

OutputPipe::OutputPipe(EventLoop& loop, Fd read_end,
                       std::vector<std::shared_ptr<RotatingFile>> sinks, Options options)
    : loop_(loop),
      fd_(std::move(read_end)),
      watcher_(loop, fd_.get()),
      sinks_(std::move(sinks)),
      options_(options),
      splitter_(LineSplitter::Options{options.max_line, options.timestamps}),
      format_(options.format) {
  if (options_.read_budget == 0) options_.read_budget = 1;
  std::erase(sinks_, nullptr);
}

OutputPipe::~OutputPipe() {
  // Subscribers are not called from here: they may be half torn down along with the owner.
  // The files still get the last partial line, which is what a post-mortem needs most.
  if (state_ == State::kIdle || state_ == State::kReading) {
    flush_partial(false);
    write_batch();
  }
}

Status OutputPipe::start() {
  loop_.check_thread("OutputPipe::start called off the loop thread");
  if (!fd_) return fail(EBADF, "output pipe: no descriptor");
  if (state_ != State::kIdle) return fail(EINVAL, "output pipe: already started or closed");
  // The daemon must never block on an app's pipe, even if a spurious wake-up reports it
  // readable: every read below is non-blocking.
  if (auto st = set_nonblocking(fd_.get(), true); !st) return st;
  watcher_.set_callback([this](std::uint32_t) { on_readable(); });
  if (auto st = watcher_.start(kReadable); !st) return st;
  state_ = State::kReading;
  return {};
}

void OutputPipe::on_readable() {
  // Read at most read_budget bytes per event: the watcher is level-triggered, so what is left
  // in the pipe is reported again in the next iteration, after the other callbacks had their
  // turn. A short read means the pipe is empty for now; stopping there saves the read that
  // would only say EAGAIN.
  std::size_t budget = options_.read_budget;
  bool eof = false;
  std::optional<Error> error;
  format_.begin();
  while (budget > 0) {
    std::size_t want = std::min(budget, read_buffer.size());
    ssize_t n = ::read(fd_.get(), read_buffer.data(), want);
    if (n > 0) {
      auto got = static_cast<std::size_t>(n);
      bytes_read_ += got;
      budget -= got;
      splitter_.feed(std::string_view(read_buffer.data(), got),
                     [this](std::string_view line) { on_line(line); });
      if (got < want) break;
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    error = Error::from_errno("read app output");
    break;
  }
  if (!eof && !error) {
    write_batch();
    return;
  }

  flush_partial(true);
  write_batch();
  state_ = State::kClosing;
  Status status = {};
  if (error) status = std::unexpected(*error);
  // Two-phase close: the owner's callback runs in the close phase, where it may destroy this
  // pipe (and the watcher with it), never inside the watcher's own I/O callback.
  watcher_.close([this, status = std::move(status)]() mutable {
    fd_.reset();
    state_ = State::kClosed;
    CloseCallback cb = std::move(on_close_);
    on_close_ = nullptr;
    // Last statement: the callback may destroy *this.
    if (cb) cb(std::move(status));
  });
}

void OutputPipe::on_line(std::string_view raw) {
  ++lines_;
  std::string_view line = format_.apply(raw, !final_line_);
  batch_.append(line);
  batch_.push_back('\n');
  if (batch_.size() >= kMaxBatch) write_batch();
  if (!deliver_to_subscribers_ || subscribers_.empty()) return;

  // While subscribers run, subscribe() parks new ones in added_ and unsubscribe() only zeroes
  // the id: subscribers_ is neither resized nor reordered, so the callback that is running is
  // never moved or destroyed under itself. The changes are applied once delivery is over.
  ++delivering_;
  for (auto& [id, cb] : subscribers_) {
    if (id != 0) cb(line);
  }
  --delivering_;
  if (delivering_ == 0 && (needs_compact_ || !added_.empty())) compact_subscribers();
}

void OutputPipe::write_batch() {
  if (batch_.empty()) return;
  // A failing sink reports its own outage (RotatingFile's error callback) and counts what it
  // dropped; the other sinks and the subscribers are not held back by it.
  for (auto& sink : sinks_) (void)sink->write(batch_);
  batch_.clear();
}

void OutputPipe::flush_partial(bool to_subscribers) {
  deliver_to_subscribers_ = to_subscribers;
  final_line_ = true;
  format_.begin();
  splitter_.finish([this](std::string_view line) { on_line(line); });
  final_line_ = false;
  deliver_to_subscribers_ = true;
}

void OutputPipe::close() {
  switch (state_) {
    case State::kClosed:
      return;
    case State::kClosing:
      // EOF was seen and the watcher's close is queued: only make sure the owner's callback
      // does not run after it chose to close.
      on_close_ = nullptr;
      fd_.reset();
      state_ = State::kClosed;
      return;
    case State::kIdle:
    case State::kReading:
      watcher_.stop();
      flush_partial(true);
      write_batch();
      fd_.reset();
      state_ = State::kClosed;
      return;
  }
}

OutputPipe::SubscriberId OutputPipe::subscribe(LineCallback cb) {
  SubscriberId id = next_id_++;
  (delivering_ > 0 ? added_ : subscribers_).emplace_back(id, std::move(cb));
  return id;
}

bool OutputPipe::unsubscribe(SubscriberId id) {
  if (id == 0) return false;
  auto same = [id](const auto& s) { return s.first == id; };
  // Not yet delivered to, hence not running: it can go at once.
  if (std::erase_if(added_, same) > 0) return true;
  auto it = std::find_if(subscribers_.begin(), subscribers_.end(), same);
  if (it == subscribers_.end()) return false;
  if (delivering_ > 0) {
    it->first = 0;
    needs_compact_ = true;
  } else {
    subscribers_.erase(it);
  }
  return true;
}

std::size_t OutputPipe::subscribers() const {
  auto live = std::count_if(subscribers_.begin(), subscribers_.end(),
                            [](const auto& s) { return s.first != 0; });
  return static_cast<std::size_t>(live) + added_.size();
}

void OutputPipe::compact_subscribers() {
  std::erase_if(subscribers_, [](const auto& s) { return s.first == 0; });
  needs_compact_ = false;
  for (auto& s : added_) subscribers_.push_back(std::move(s));
  added_.clear();
}

}  // namespace herd::manager
