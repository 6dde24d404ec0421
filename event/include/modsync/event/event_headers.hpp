#pragma once
// The Kafka headers of a change event (docs/events.md, "Headers"): modsync's own and the
// CloudEvents Kafka binding in binary mode.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "modsync/event/envelope.hpp"
#include "modsync/event/row.hpp"
#include "modsync/event/table_schema.hpp"

namespace modsync::event {

/// The header naming a change event's (and a schema event's) table schema version, in decimal
/// (docs/events.md, "Versions").
inline constexpr std::string_view kSchemaVersionHeader = "modsync.schema_version";

/// The schema version a kSchemaVersionHeader value names; 1 when the header is absent.
uint32_t schema_version_of(std::optional<std::string_view> header);

/// The headers a dead letter adds to the original ones (docs/projections.md, "Poison events
/// and dead letters").
inline constexpr std::string_view kDlqErrorHeader = "modsync.dlq.error";
inline constexpr std::string_view kDlqProjectionHeader = "modsync.dlq.projection";
inline constexpr std::string_view kDlqTopicHeader = "modsync.dlq.topic";
inline constexpr std::string_view kDlqPartitionHeader = "modsync.dlq.partition";
inline constexpr std::string_view kDlqOffsetHeader = "modsync.dlq.offset";

/// The headers of one event, in a structure reused from event to event: each fill overwrites
/// the values in place, so once the strings have grown to their working size it does not
/// allocate. Not thread-safe: one instance per producing thread. The views returned by
/// headers() are valid until the next fill or the instance's destruction.
class EventHeaders {
 public:
  struct Header {
    std::string_view name;  ///< a string literal: safe to hand to librdkafka as is
    std::string value;
  };
  static constexpr std::size_t kMaxHeaders = 7;

  EventHeaders();

  /// Fills the headers of a row change or truncate event of `table`.
  void fill_change(const TableSchema& table, Op op, const SourceInfo& source);

  /// Fills the headers of a logical decoding message of `module`. There is no table, so no
  /// modsync.schema_version header.
  void fill_message(std::string_view module, const SourceInfo& source);

  std::span<const Header> headers() const { return {headers_.data(), count_}; }

  /// The value of the header `name`, or nullptr when the last fill did not set it.
  const std::string* find(std::string_view name) const;

 private:
  void fill_common(std::string_view type_suffix, const SourceInfo& source);

  std::array<Header, kMaxHeaders> headers_;
  std::size_t count_ = 0;
};

}  // namespace modsync::event
