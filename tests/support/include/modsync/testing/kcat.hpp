#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modsync::testing {

/// One Kafka record as the independent client kcat saw it.
struct KcatMessage {
  std::optional<std::string> key;  ///< nullopt for a null key
  std::string value;               ///< empty for a tombstone; see null_value
  std::vector<std::pair<std::string, std::string>> headers;
  int partition = 0;
  int64_t offset = 0;
  std::string topic;
  bool null_value = false;  ///< a tombstone (null payload), as opposed to an empty one
};

/// Parses one line of `kcat -C -J` output:
/// {"topic":"t","partition":1,"offset":0,"tstype":"create","ts":…,"broker":1,
///  "headers":["h1","x","h2","y"],"key":"k1","payload":"v1"}
/// ("headers" absent when there are none; "key"/"payload" null when null).
/// Throws std::runtime_error naming the line when it is not that shape.
KcatMessage parse_kcat_json_line(std::string_view line);

/// Reads `topic` from the beginning with kcat (`kcat -C -b … -t … -o beginning -e -J -q`),
/// re-reading until at least `expected_count` messages are there or `timeout` passes (kcat runs
/// that hang, e.g. on an unreachable broker, are killed at the deadline). Returns what the last
/// complete read saw, ordered by partition then offset, possibly fewer than expected: assert
/// on the size. Blocks; safe to call from any thread.
std::vector<KcatMessage> kcat_consume(const std::string& brokers, const std::string& topic,
                                      size_t expected_count,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace modsync::testing
