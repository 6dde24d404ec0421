#pragma once
// Private to modsync_pgsource: the one place where pgoutput bytes are bounds-checked and
// converted from network byte order.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "modsync/pgsource/pgoutput.hpp"

namespace modsync::pgsource {

/// Names the field being read, for error messages. Formatting is deferred to the failure path
/// so the hot path never builds a string: {"column", 3, "length"} reads "column 3 length",
/// {"new tuple", -1, "column count"} reads "new tuple column count".
struct WireField {
  std::string_view name;
  int64_t index = -1;
  std::string_view detail = {};

  std::string to_string() const {
    if (index < 0) return detail.empty() ? std::string(name) : fmt::format("{} {}", name, detail);
    if (detail.empty()) return fmt::format("{} {}", name, index);
    return fmt::format("{} {} {}", name, index, detail);
  }
};

/// Reads big-endian integers, NUL-terminated strings and byte runs from one message, checking
/// every read against the end of the input. Never reads out of bounds and never asserts: on
/// short or malformed input it throws DecodeError naming the message type, the field, the
/// byte offset and how many bytes were needed and left. Views returned point into the input.
/// Not thread-safe; cheap to construct, one per decoded message.
class WireReader {
 public:
  /// `message` names the message being decoded ("Insert"); it must outlive the reader.
  WireReader(std::string_view bytes, std::string_view message) : bytes_(bytes), message_(message) {}

  /// Renames the message once its type byte is known.
  void set_message(std::string_view message) { message_ = message; }
  std::string_view message() const { return message_; }

  size_t offset() const { return offset_; }
  size_t remaining() const { return bytes_.size() - offset_; }

  uint8_t u8(const WireField& field) { return static_cast<uint8_t>(take(1, field)[0]); }
  uint16_t u16(const WireField& field) { return static_cast<uint16_t>(be(take(2, field), 2)); }
  uint32_t u32(const WireField& field) { return static_cast<uint32_t>(be(take(4, field), 4)); }
  uint64_t u64(const WireField& field) { return be(take(8, field), 8); }
  int16_t i16(const WireField& field) { return static_cast<int16_t>(u16(field)); }
  int32_t i32(const WireField& field) { return static_cast<int32_t>(u32(field)); }
  int64_t i64(const WireField& field) { return static_cast<int64_t>(u64(field)); }

  /// A NUL-terminated string; the terminator is consumed but not part of the view.
  std::string_view cstring(const WireField& field) {
    const char* start = bytes_.data() + offset_;
    const void* nul = std::memchr(start, '\0', remaining());
    if (nul == nullptr) fail_unterminated(field);
    size_t length = static_cast<size_t>(static_cast<const char*>(nul) - start);
    std::string_view text(start, length);
    field_start_ = offset_;
    offset_ += length + 1;
    return text;
  }

  /// `count` raw bytes.
  std::string_view bytes(size_t count, const WireField& field) { return take(count, field); }

  /// Throws unless every byte of the message was consumed: trailing bytes mean the layout we
  /// decoded is not the one the sender wrote, so nothing decoded from it can be trusted.
  void expect_end() const {
    if (offset_ != bytes_.size()) fail_trailing();
  }

  /// Throws a DecodeError about `field`, the value just read (the offset reported is where
  /// that value starts); `what` says what is wrong with it.
  [[noreturn]] void fail_invalid(const WireField& field, std::string_view what) const {
    fail_invalid_at(field_start_, field, what);
  }

  /// As fail_invalid, for a field read earlier, which started at byte `offset`.
  [[noreturn]] [[gnu::cold]] [[gnu::noinline]] void fail_invalid_at(size_t offset,
                                                                    const WireField& field,
                                                                    std::string_view what) const {
    throw DecodeError(fmt::format("pgoutput {} message: {} at byte {} {}{}", message_,
                                  field.to_string(), offset, what, kHint));
  }

 private:
  static constexpr std::string_view kHint =
      "; the replication stream is corrupt or not pgoutput protocol version 1: check that the "
      "slot uses the pgoutput plugin and report the bytes if it does";

  std::string_view take(size_t count, const WireField& field) {
    if (count > remaining()) fail_short(count, field);
    std::string_view run = bytes_.substr(offset_, count);
    field_start_ = offset_;
    offset_ += count;
    return run;
  }

  static uint64_t be(std::string_view run, size_t width) {
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i) value = (value << 8) | static_cast<uint8_t>(run[i]);
    return value;
  }

  [[noreturn]] [[gnu::cold]] [[gnu::noinline]] void fail_short(size_t needed,
                                                               const WireField& field) const {
    throw DecodeError(fmt::format(
        "pgoutput {} message truncated: {} at byte {} needs {} bytes but {} are left "
        "(message is {} bytes){}",
        message_, field.to_string(), offset_, needed, remaining(), bytes_.size(), kHint));
  }

  [[noreturn]] [[gnu::cold]] [[gnu::noinline]] void fail_unterminated(
      const WireField& field) const {
    throw DecodeError(fmt::format(
        "pgoutput {} message truncated: {} at byte {} has no NUL terminator in the {} bytes left "
        "(message is {} bytes){}",
        message_, field.to_string(), offset_, remaining(), bytes_.size(), kHint));
  }

  [[noreturn]] [[gnu::cold]] [[gnu::noinline]] void fail_trailing() const {
    throw DecodeError(
        fmt::format("pgoutput {} message: {} trailing bytes after byte {} (message is {} bytes){}",
                    message_, remaining(), offset_, bytes_.size(), kHint));
  }

  std::string_view bytes_;
  std::string_view message_;
  size_t offset_ = 0;
  size_t field_start_ = 0;
};

}  // namespace modsync::pgsource
