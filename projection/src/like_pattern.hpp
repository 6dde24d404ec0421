#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modsync::projection {

/// A compiled LIKE pattern: `%` matches any run of characters (also none), `_` exactly one
/// character (a whole UTF-8 sequence), `\` makes the next character literal; everything else
/// matches itself, byte for byte (case-sensitive).
class LikePattern {
 public:
  /// nullopt when the pattern ends in a lone `\`.
  static std::optional<LikePattern> compile(std::string_view pattern);

  /// Does not allocate. Worst case O(|pattern| × |text|).
  bool matches(std::string_view text) const;

 private:
  static constexpr int16_t kAnyRun = -1;  ///< %
  static constexpr int16_t kAnyOne = -2;  ///< _

  /// Literal bytes (0–255) and the two wildcards.
  std::vector<int16_t> pieces_;
};

}  // namespace modsync::projection
