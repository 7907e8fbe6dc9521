// Fifo<T>: a first-in, first-out queue on one vector. Internal to libherd: the per-connection
// queues (a stream's writes and completions, an HTTP connection's exchanges) use it because an
// empty Fifo owns no memory, where std::deque allocates its map and a first block as soon as it
// is constructed: two allocations for every connection, even one that never queues anything.
//
// pop_front() resets the front slot (T's moved-from state is dropped at once) and moves the
// head; the vector's storage is reused once the queue is empty, and its dead prefix is dropped
// when it grows past the live part, so a queue that never empties stays O(live) in memory and
// every operation is amortised O(1).
//
// Unlike std::deque, elements move when the queue grows or compacts: a reference or iterator is
// valid only until the next push_back/emplace_back/pop_front. T must be default-constructible
// and move-assignable.
//
// Threads: none of its own; the owner's.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace herd::detail {

template <typename T>
class Fifo {
 public:
  using iterator = typename std::vector<T>::iterator;

  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }

  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  T& back() { return items_.back(); }
  const T& back() const { return items_.back(); }

  iterator begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() { return items_.end(); }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    if (head_ > 0 && head_ >= items_.size() - head_ && items_.size() == items_.capacity()) {
      compact();
    }
    return items_.emplace_back(std::forward<Args>(args)...);
  }
  void push_back(T value) { emplace_back(std::move(value)); }

  void pop_front() {
    items_[head_] = T();
    if (++head_ == items_.size()) clear();
  }

  // Drops every element; keeps the storage for the next ones.
  void clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  // Moves the live elements to the front, dropping the popped slots before them.
  void compact() {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }

  std::vector<T> items_;
  std::size_t head_ = 0;  // index of the front element; items_.size() when empty
};

}  // namespace herd::detail
