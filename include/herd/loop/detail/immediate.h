// ImmediateNode: one queued setImmediate callback, with the callable stored in the node itself.
// Internal to libherd (EventLoop::set_immediate builds it; the check phase runs it).
//
// A node is an intrusive link in one of the loop's singly linked lists (queued, running or free)
// and a small buffer: a callable of up to kInlineSize bytes (a lambda with a few captures, or a
// whole herd::Callback) is constructed in place, with no allocation; a larger or over-aligned one
// is allocated once and the node keeps the pointer. Nodes never move (the loop allocates them in
// fixed chunks and recycles them through its free list), so the callable is never moved either:
// queueing is one construction, running is one indirect call that runs the callable and
// destroys it.
//
// An ImmediateId names a node and its generation, so clear_immediate() finds its node in O(1)
// and an id whose immediate already ran or was cleared (its node since reused) matches nothing.
//
// Threads: the loop's thread only, like everything about immediates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace herd::detail {

struct ImmediateNode {
  enum class Op {
    kRun,      // run the callable, then destroy it (also when it throws)
    kDestroy,  // destroy it unrun (cleared, or the loop destroyed with it queued)
  };
  using OpFn = void (*)(ImmediateNode*, Op);

  static constexpr std::size_t kInlineSize = 48;

  ImmediateNode* next = nullptr;  // in the queued, running or free list
  // Set while a callable is stored and waits to run; null once it runs, is cleared, or is free.
  OpFn op = nullptr;
  std::uint32_t index = 0;       // the node's place in the loop's chunks (the id's low half)
  std::uint32_t generation = 0;  // bumped each time the node is queued (the id's high half)
  alignas(std::max_align_t) std::byte storage[kInlineSize];

  // Constructs `f` (decayed) in the node; may throw what F's constructor or the allocation
  // throws, and then leaves the node empty.
  template <class F>
  void emplace(F&& f);

  std::uint64_t id() const { return (std::uint64_t{generation} << 32) | index; }
};

template <class Fn>
inline constexpr bool kFitsInline = sizeof(Fn) <= ImmediateNode::kInlineSize &&
                                    alignof(Fn) <= alignof(std::max_align_t);

template <class F>
void ImmediateNode::emplace(F&& f) {
  using Fn = std::decay_t<F>;
  if constexpr (kFitsInline<Fn>) {
    ::new (static_cast<void*>(storage)) Fn(std::forward<F>(f));
    op = [](ImmediateNode* n, Op what) {
      Fn* fn = std::launder(reinterpret_cast<Fn*>(n->storage));
      if (what == Op::kRun) {
        struct Destroy {
          Fn* fn;
          ~Destroy() { fn->~Fn(); }
        } destroy{fn};
        (*fn)();
      } else {
        fn->~Fn();
      }
    };
  } else {
    Fn* heap = new Fn(std::forward<F>(f));
    ::new (static_cast<void*>(storage)) Fn*(heap);
    op = [](ImmediateNode* n, Op what) {
      std::unique_ptr<Fn> fn(*std::launder(reinterpret_cast<Fn**>(n->storage)));
      if (what == Op::kRun) (*fn)();
    };
  }
}

}  // namespace herd::detail
