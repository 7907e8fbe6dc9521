// Message: one value moved between threads (worker threads' post_message).
//
// A Message owns its value and can only be moved, so a value sent to another thread is never
// shared with the sender by accident. Raw pointers, shared_ptr and references are refused at
// compile time: send the value itself (a std::string, a vector, a struct of them) instead.
#pragma once

#include <memory>
#include <type_traits>
#include <typeindex>
#include <typeinfo>
#include <utility>

namespace herd {

namespace detail {
template <class T>
struct is_shared_ptr : std::false_type {};
template <class T>
struct is_shared_ptr<std::shared_ptr<T>> : std::true_type {};
template <class T>
struct is_weak_ptr : std::false_type {};
template <class T>
struct is_weak_ptr<std::weak_ptr<T>> : std::true_type {};
}  // namespace detail

class Message {
 public:
  Message() = default;
  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  // Moves (or copies, for an lvalue) `value` into a new message.
  template <class T>
  static Message of(T&& value) {
    using V = std::decay_t<T>;
    static_assert(!std::is_pointer_v<V>, "a Message carries values, not pointers");
    static_assert(!detail::is_shared_ptr<V>::value && !detail::is_weak_ptr<V>::value,
                  "a Message must not share ownership across threads; send the value");
    static_assert(std::is_move_constructible_v<V>, "a Message's value must be movable");
    Message m;
    m.box_ = std::make_unique<Holder<V>>(std::forward<T>(value));
    return m;
  }

  bool empty() const { return box_ == nullptr; }
  template <class T>
  bool holds() const {
    return box_ != nullptr && box_->type() == typeid(T);
  }
  // The value, if it is a T; null otherwise.
  template <class T>
  T* get() {
    return holds<T>() ? &static_cast<Holder<T>*>(box_.get())->value : nullptr;
  }
  template <class T>
  const T* get() const {
    return holds<T>() ? &static_cast<const Holder<T>*>(box_.get())->value : nullptr;
  }
  // The name of the held type (for error messages).
  const char* type_name() const { return box_ ? box_->type().name() : "empty"; }

 private:
  struct Box {
    virtual ~Box() = default;
    virtual const std::type_info& type() const = 0;
  };
  template <class T>
  struct Holder final : Box {
    template <class U>
    explicit Holder(U&& v) : value(std::forward<U>(v)) {}
    const std::type_info& type() const override { return typeid(T); }
    T value;
  };

  std::unique_ptr<Box> box_;
};

}  // namespace herd
