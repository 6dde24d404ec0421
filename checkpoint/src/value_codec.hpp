#pragma once
// Encoding of checkpoint values and keys; the layout is documented in checkpoint_store.hpp.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "modsync/common/error.hpp"

namespace modsync::checkpoint {

inline constexpr uint8_t kValueVersion = 1;

/// Appends fields of one value. Little-endian, fixed width.
class ValueWriter {
 public:
  explicit ValueWriter(char kind) {
    out_.push_back(static_cast<char>(kValueVersion));
    out_.push_back(kind);
  }
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void i64(int64_t v) { le(static_cast<uint64_t>(v), 8); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  void le(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

/// Reads the fields of one stored value, checking every bound in one place. Errors name the key,
/// the field and the byte offset, because the operator reading them has only the message.
class ValueReader {
 public:
  /// Checks the version and kind bytes. `key` is the printable key, for messages.
  ValueReader(std::string_view value, char kind, std::string key)
      : value_(value), key_(std::move(key)) {
    if (value_.size() < 2) corrupt("value too short for its header", "header");
    const auto version = static_cast<uint8_t>(value_[0]);
    if (version != kValueVersion) {
      fail(
          "checkpoint value at key {} has encoding version {}; this modsync reads version {} "
          "(was the state dir written by a newer modsync? downgrades are not supported)",
          key_, version, kValueVersion);
    }
    if (value_[1] != kind) {
      fail("checkpoint value at key {} is corrupt: record kind '{}' where '{}' was expected", key_,
           printable_byte(value_[1]), kind);
    }
    pos_ = 2;
  }

  uint8_t u8(const char* field) { return static_cast<uint8_t>(le(1, field)); }
  uint32_t u32(const char* field) { return static_cast<uint32_t>(le(4, field)); }
  uint64_t u64(const char* field) { return le(8, field); }
  int64_t i64(const char* field) { return static_cast<int64_t>(le(8, field)); }
  bool boolean(const char* field) {
    const size_t at = pos_;
    const uint8_t b = u8(field);
    if (b > 1) corrupt_at(fmt::format("byte {} is not a bool", b), field, at);
    return b == 1;
  }
  std::string str(const char* field) {
    const size_t at = pos_;
    const uint32_t n = u32(field);
    if (value_.size() - pos_ < n) {
      corrupt_at(fmt::format("string of {} bytes overruns the value", n), field, at);
    }
    std::string s(value_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  /// True once every byte was read: lets a record gain trailing fields compatibly.
  bool at_end() const { return pos_ == value_.size(); }
  /// Every value must be consumed exactly.
  void finish() {
    if (pos_ != value_.size()) {
      corrupt_at(fmt::format("{} trailing bytes", value_.size() - pos_), "end", pos_);
    }
  }

 private:
  static std::string printable_byte(char c) {
    if (c >= 0x20 && c < 0x7f) return std::string(1, c);
    return fmt::format("\\x{:02x}", static_cast<uint8_t>(c));
  }
  uint64_t le(size_t bytes, const char* field) {
    if (value_.size() - pos_ < bytes) corrupt("truncated", field);
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) {
      v |= uint64_t{static_cast<uint8_t>(value_[pos_ + i])} << (8 * i);
    }
    pos_ += bytes;
    return v;
  }
  [[noreturn]] void corrupt(std::string_view what, const char* field) {
    corrupt_at(what, field, pos_);
  }
  [[noreturn]] void corrupt_at(std::string_view what, const char* field, size_t at) {
    fail(
        "checkpoint value at key {} is corrupt: {} at byte {} (field {}, value has {} bytes); "
        "restore the state dir from a backup or remove it to start over",
        key_, what, at, field, value_.size());
  }

  std::string_view value_;
  std::string key_;
  size_t pos_ = 0;
};

/// Appends `v` big-endian, so that keys sort numerically.
inline void append_be32(std::string& key, uint32_t v) {
  for (int i = 3; i >= 0; --i) key.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline uint32_t read_be32(std::string_view four) {
  uint32_t v = 0;
  for (char c : four) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

/// A key as an operator can read it: NUL separators as '|', other bytes escaped.
inline std::string printable_key(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '\0') {
      out.push_back('|');
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
    } else {
      out += fmt::format("\\x{:02x}", static_cast<uint8_t>(c));
    }
  }
  return out;
}

}  // namespace modsync::checkpoint
