#include "protocol/json_members.h"

#include <algorithm>
#include <numeric>
#include <type_traits>
#include <utility>

namespace herd::manager {
namespace {

// What basic_json::dump() itself writes with (nlohmann 3.x): the same escaping, number formats
// and invalid-UTF-8 handling, straight into our string. The unit tests compare the two.
using Serializer = nlohmann::detail::serializer<nlohmann::json>;

// nlohmann writes a key through its string escaper; a key of plain printable ASCII with no
// quote or backslash comes out as it is.
bool plain(std::string_view key) {
  return std::all_of(key.begin(), key.end(),
                     [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

}  // namespace

void JsonMembers::set(std::string_view key, nlohmann::json value) {
  Member& m = members_.emplace_back();
  m.key = key;
  m.value = std::move(value);
}

void JsonMembers::set_text(std::string_view key, std::string_view json_text) {
  Member& m = members_.emplace_back();
  m.key = key;
  m.kind = Kind::kText;
  m.text = json_text;
}

void JsonMembers::set_object(std::string_view key, JsonMembers* object) {
  Member& m = members_.emplace_back();
  m.key = key;
  m.kind = Kind::kObject;
  m.object = object;
}

void JsonMembers::adopt(nlohmann::json&& object) {
  if (!object.is_object()) return;
  adopted_.push_back(std::move(object));
  for (auto& [key, value] : adopted_.back().items()) set(key, std::move(value));
}

const nlohmann::json* JsonMembers::find(std::string_view key) const {
  for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
    if (it->key == key) return it->kind == Kind::kValue ? &it->value : nullptr;
  }
  return nullptr;
}

template <class Self>
nlohmann::json JsonMembers::tree(Self& self) {
  constexpr bool kMove = !std::is_const_v<Self>;
  nlohmann::json out = nlohmann::json::object();
  for (auto& m : self.members_) {
    nlohmann::json& slot = out[std::string(m.key)];
    switch (m.kind) {
      case Kind::kValue:
        if constexpr (kMove) {
          slot = std::move(m.value);
        } else {
          slot = m.value;
        }
        break;
      case Kind::kText:
        slot = nlohmann::json::parse(m.text);
        break;
      case Kind::kObject:
        if constexpr (kMove) {
          slot = tree(*m.object);
        } else {
          slot = tree(std::as_const(*m.object));
        }
        break;
    }
  }
  return out;
}

nlohmann::json JsonMembers::to_json() const { return tree(*this); }

nlohmann::json JsonMembers::take_json() { return tree(*this); }

void JsonMembers::append_text(std::string* out) const {
  // Sorted by key; of equal keys, the last set wins (stable sort: it is the last of its run).
  std::vector<std::size_t> order(members_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
    return members_[a].key < members_[b].key;
  });
  Serializer serializer(nlohmann::detail::output_adapter<char, std::string>(*out), ' ',
                        nlohmann::json::error_handler_t::replace);
  *out += '{';
  bool first = true;
  for (std::size_t n = 0; n < order.size(); ++n) {
    const Member& m = members_[order[n]];
    if (n + 1 < order.size() && members_[order[n + 1]].key == m.key) continue;
    if (!first) *out += ',';
    first = false;
    if (plain(m.key)) {
      *out += '"';
      *out += m.key;
      *out += '"';
    } else {
      serializer.dump(nlohmann::json(m.key), false, false, 0);
    }
    *out += ':';
    switch (m.kind) {
      case Kind::kValue:
        serializer.dump(m.value, false, false, 0);
        break;
      case Kind::kText:
        *out += m.text;
        break;
      case Kind::kObject:
        m.object->append_text(out);
        break;
    }
  }
  *out += '}';
}

}  // namespace herd::manager
