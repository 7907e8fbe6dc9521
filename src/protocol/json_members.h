// JsonMembers: a JSON object's members gathered in a flat list as they are set, then written
// either as an nlohmann::json object or straight as JSON text. The text is byte for byte what
// nlohmann's dump(-1, ' ', false, error_handler_t::replace) writes for the object to_json()
// gives: members sorted by key (nlohmann's std::map order), the last value set for a key wins,
// values and keys escaped by nlohmann's own serializer.
//
// Why: a listing of 1,000 processes built one std::map tree per process (a node and a key
// string per member), then walked it to write it. Here a member costs one vector slot, and a
// key is a view: no node, no key copy, nothing to free member by member.
//
// Keys are views and must outlive the JsonMembers: string literals, a static table's strings, or
// the keys of an object handed to adopt(), which keeps that object. A member may be an object of
// its own (a nested JsonMembers, kept by pointer: it must outlive this one too) or JSON text
// made elsewhere (set_text: it is written as it is, and parsed by to_json()).
//
// Not thread-safe; single-owner, like nlohmann::json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace herd::manager {

class JsonMembers {
 public:
  // Room for `count` members without regrowing the list.
  void reserve(std::size_t count) { members_.reserve(count); }
  void set(std::string_view key, nlohmann::json value);
  // JSON text written as it is: it must be one valid JSON value.
  void set_text(std::string_view key, std::string_view json_text);
  void set_object(std::string_view key, JsonMembers* object);
  // Every member of `object` (an nlohmann object; anything else is ignored), set in its order.
  // The object is kept: its keys are the members' keys.
  void adopt(nlohmann::json&& object);
  // The value last set for `key` when it was set with set(); nullptr otherwise.
  const nlohmann::json* find(std::string_view key) const;

  nlohmann::json to_json() const;
  // to_json(), the values moved out rather than copied (nested objects' too): this and the
  // nested objects are left with their keys and null or moved-from values.
  nlohmann::json take_json();
  // Appends the object's text to *out.
  void append_text(std::string* out) const;

 private:
  enum class Kind { kValue, kText, kObject };
  struct Member {
    std::string_view key;
    nlohmann::json value;  // kValue
    Kind kind = Kind::kValue;
    std::string_view text;          // kText
    JsonMembers* object = nullptr;  // kObject
  };
  // to_json() (Self const: copies) and take_json() (moves).
  template <class Self>
  static nlohmann::json tree(Self& self);

  std::vector<Member> members_;
  std::vector<nlohmann::json> adopted_;  // moved, a json keeps its map: the keys stay put
};

}  // namespace herd::manager
