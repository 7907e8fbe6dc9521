#include "loop/timer_heap.h"

namespace herd::detail {

void TimerHeap::push(Timer* t) {
  heap_.push_back(t);
  t->heap_index_ = heap_.size() - 1;
  sift_up(heap_.size() - 1);
}

void TimerHeap::remove(Timer* t) {
  std::size_t i = t->heap_index_;
  t->heap_index_ = Timer::kNotInHeap;
  Timer* last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;  // it was the last element
  place(i, last);
  // The element moved into the hole may belong above or below it.
  if (i > 0 && before(last, heap_[(i - 1) / 2])) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

void TimerHeap::sift_up(std::size_t i) {
  Timer* t = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!before(t, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, t);
}

void TimerHeap::sift_down(std::size_t i) {
  Timer* t = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], t)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, t);
}

}  // namespace herd::detail
