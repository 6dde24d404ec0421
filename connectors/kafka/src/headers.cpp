#include "modsync/kafka/headers.hpp"

namespace modsync::kafka {

HeadersPtr Headers::to_rd_kafka() const {
  if (entries_.empty()) return nullptr;
  HeadersPtr headers(rd_kafka_headers_new(entries_.size()));
  for (const auto& [name, value] : entries_) {
    // rd_kafka_header_add only fails on a read-only headers object, which this is not.
    rd_kafka_header_add(headers.get(), name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  return headers;
}

}  // namespace modsync::kafka
