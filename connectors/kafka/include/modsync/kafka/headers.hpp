#pragma once
// Kafka record headers as views, built once per event and converted right before produce.

#include <string_view>
#include <utility>
#include <vector>

#include "modsync/kafka/handles.hpp"

namespace modsync::kafka {

/// An ordered list of (name, value) header views. Not thread-safe. It owns no bytes: the
/// viewed strings must outlive the produce() call they are passed to (produce copies them).
/// Reuse one instance across messages (clear() keeps its capacity) to avoid allocating.
class Headers {
 public:
  void add(std::string_view name, std::string_view value) { entries_.emplace_back(name, value); }
  void clear() { entries_.clear(); }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  const std::vector<std::pair<std::string_view, std::string_view>>& entries() const {
    return entries_;
  }

  /// Copies the headers into a new librdkafka headers object; nullptr when empty (a message
  /// without headers needs no allocation). Caller owns the result.
  HeadersPtr to_rd_kafka() const;

 private:
  std::vector<std::pair<std::string_view, std::string_view>> entries_;
};

}  // namespace modsync::kafka
