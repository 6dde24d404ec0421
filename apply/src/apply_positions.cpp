#include "apply_positions.hpp"

namespace modsync::apply {

void publish_positions(ApplyStats& stats,
                       const std::vector<kafka::TopicPartitionOffset>& assigned) {
  std::vector<std::pair<kafka::Partition, kafka::Offset>> offsets;
  offsets.reserve(assigned.size());
  for (const auto& p : assigned) offsets.emplace_back(p.partition, p.offset);
  stats.set_next_offsets(offsets);
}

void publish_positions(ApplyStats& stats, const std::vector<checkpoint::SinkOffset>& committed) {
  std::vector<std::pair<kafka::Partition, kafka::Offset>> offsets;
  offsets.reserve(committed.size());
  for (const auto& o : committed) offsets.emplace_back(o.partition, o.offset);
  stats.set_next_offsets(offsets);
}

}  // namespace modsync::apply
