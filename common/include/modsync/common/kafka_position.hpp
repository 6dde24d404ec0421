#pragma once
// Strong types for Kafka positions, so a partition can never be passed where an offset goes.
// Here, below the Kafka connector, so the checkpoint store can hold them too.

#include <compare>
#include <cstdint>

#include <fmt/format.h>

namespace modsync::kafka {

/// A partition number within one topic. -1 (RD_KAFKA_PARTITION_UA) means "not assigned".
struct Partition {
  int32_t value = -1;
  friend constexpr auto operator<=>(Partition, Partition) = default;
};

/// A message offset within one partition. Negative values are librdkafka's logical offsets
/// (-2 beginning, -1 end, -1001 invalid/unknown).
struct Offset {
  int64_t value = -1001;
  /// The offset after this message's: where a consumer that processed it resumes, and what it
  /// commits (Kafka's "next offset to read"). The one place that adds 1 to an offset.
  constexpr Offset next() const { return Offset{value + 1}; }
  friend constexpr auto operator<=>(Offset, Offset) = default;
};

}  // namespace modsync::kafka

template <>
struct fmt::formatter<modsync::kafka::Partition> : fmt::formatter<int32_t> {
  auto format(modsync::kafka::Partition p, format_context& ctx) const {
    return fmt::formatter<int32_t>::format(p.value, ctx);
  }
};
template <>
struct fmt::formatter<modsync::kafka::Offset> : fmt::formatter<int64_t> {
  auto format(modsync::kafka::Offset o, format_context& ctx) const {
    return fmt::formatter<int64_t>::format(o.value, ctx);
  }
};
