// DestroySlot and DestroyGuard: how code that runs a user callback learns that the callback
// destroyed the object the code belongs to. Internal to libherd.
//
// The object owns a DestroySlot. A member function that is about to run callbacks puts a
// DestroyGuard on its stack; after each callback it asks guard.destroyed(), and when that is
// true it returns at once without touching a member (`this` is gone). Guards nest: a guard made
// while another is active for the same slot passes the news on to the outer one when it ends,
// so every frame between the callback and the loop sees it.
//
// Threads: the slot and its guards belong to the owner's thread.
#pragma once

namespace herd::detail {

class DestroySlot {
 public:
  DestroySlot() = default;
  DestroySlot(const DestroySlot&) = delete;
  DestroySlot& operator=(const DestroySlot&) = delete;
  ~DestroySlot() { mark_destroyed(); }

  // Tells the innermost active guard (and through it every outer one) that the owner is being
  // destroyed. An owner whose destructor does more than drop members calls it first.
  void mark_destroyed() {
    if (flag_ != nullptr) *flag_ = true;
    flag_ = nullptr;
  }

 private:
  friend class DestroyGuard;
  bool* flag_ = nullptr;  // the innermost active guard's flag, or null
};

class DestroyGuard {
 public:
// GCC 12 sees the slot keep this guard's address on the path where the destructor leaves the
// slot alone, and warns; on that path the slot was destroyed with its owner, so nothing dangles.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
  explicit DestroyGuard(DestroySlot& slot) : slot_(slot), outer_(slot.flag_) {
    slot.flag_ = &destroyed_;
  }
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif
  DestroyGuard(const DestroyGuard&) = delete;
  DestroyGuard& operator=(const DestroyGuard&) = delete;
  ~DestroyGuard() {
    if (destroyed_) {
      if (outer_ != nullptr) *outer_ = true;  // the slot is gone with its owner
    } else {
      slot_.flag_ = outer_;
    }
  }

  // True once the owner's destructor ran. Then neither the owner nor the slot may be touched.
  bool destroyed() const { return destroyed_; }

 private:
  DestroySlot& slot_;
  bool* outer_;
  bool destroyed_ = false;
};

}  // namespace herd::detail
