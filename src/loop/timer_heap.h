// The loop's timers, ordered by (deadline, start order) in a binary min-heap over a vector.
// Each Timer stores its own index, so stop() removes it in O(log n) without searching.
#pragma once

#include <cstddef>
#include <vector>

#include "herd/loop/timer.h"

namespace herd::detail {

class TimerHeap {
 public:
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  Timer* top() const { return heap_.front(); }

  void push(Timer* t);
  void remove(Timer* t);

 private:
  static bool before(const Timer* a, const Timer* b) {
    if (a->deadline_ != b->deadline_) return a->deadline_ < b->deadline_;
    return a->start_id_ < b->start_id_;
  }
  void place(std::size_t i, Timer* t) {
    heap_[i] = t;
    t->heap_index_ = i;
  }
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);

  std::vector<Timer*> heap_;
};

}  // namespace herd::detail
