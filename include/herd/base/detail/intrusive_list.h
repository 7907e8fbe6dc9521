// A circular, doubly linked intrusive list. Internal to libherd: the loop keeps its handles in
// these so that starting, stopping and closing a handle is O(1) and never allocates, and so that
// a phase can iterate safely while callbacks start and stop handles (see EventLoop's run_phase).
#pragma once

namespace herd::detail {

struct ListNode {
  ListNode* prev = this;
  ListNode* next = this;
  void* owner = nullptr;  // the object this node is a member of

  ListNode() = default;
  explicit ListNode(void* o) : owner(o) {}
  ListNode(const ListNode&) = delete;
  ListNode& operator=(const ListNode&) = delete;

  bool linked() const { return next != this; }
  // Removes this node from whatever list holds it; a no-op when unlinked.
  void unlink() {
    prev->next = next;
    next->prev = prev;
    prev = next = this;
  }
};

// The list head. Holds no ownership of its elements.
class List {
 public:
  List() = default;
  List(const List&) = delete;
  List& operator=(const List&) = delete;
  ~List() { clear(); }

  bool empty() const { return !head_.linked(); }
  ListNode* front() { return head_.next; }
  ListNode* end() { return &head_; }

  void push_back(ListNode* node) {
    node->unlink();
    node->prev = head_.prev;
    node->next = &head_;
    head_.prev->next = node;
    head_.prev = node;
  }

  // Moves every element of `other` to the end of this list, in order.
  void splice_back(List& other) {
    if (other.empty()) return;
    ListNode* first = other.head_.next;
    ListNode* last = other.head_.prev;
    other.head_.prev = other.head_.next = &other.head_;
    first->prev = head_.prev;
    last->next = &head_;
    head_.prev->next = first;
    head_.prev = last;
  }

  void clear() {
    while (!empty()) front()->unlink();
  }

 private:
  ListNode head_;
};

}  // namespace herd::detail
