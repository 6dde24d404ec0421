#pragma once
// Log sequence numbers and capture positions: the only place LSNs are parsed and printed.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace modsync {

/// A PostgreSQL WAL position. Value type; printed as PostgreSQL does ("16/B374D848").
class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  constexpr uint64_t value() const { return value_; }
  constexpr bool is_zero() const { return value_ == 0; }

  /// Parses "X/X" (hex, as printed by PostgreSQL); nullopt when malformed.
  static std::optional<Lsn> parse(std::string_view text);
  std::string to_string() const;

  friend constexpr auto operator<=>(Lsn, Lsn) = default;

 private:
  uint64_t value_ = 0;
};

/// Where one change event stands in the source's commit order: the commit LSN of its
/// transaction and its index within that transaction. Never a bare LSN: a crash in the
/// middle of a large transaction must resume after the last event Kafka holds.
struct Position {
  Lsn commit_lsn;
  uint32_t index = 0;

  friend constexpr auto operator<=>(const Position&, const Position&) = default;
  std::string to_string() const;  // "16/B374D848#12"
};

}  // namespace modsync

template <>
struct fmt::formatter<modsync::Lsn> : fmt::formatter<std::string_view> {
  auto format(modsync::Lsn lsn, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(lsn.to_string(), ctx);
  }
};
template <>
struct fmt::formatter<modsync::Position> : fmt::formatter<std::string_view> {
  auto format(const modsync::Position& p, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(p.to_string(), ctx);
  }
};
