#include "modsync/apply/apply_stats.hpp"

#include <algorithm>

namespace modsync::apply {

void ApplyStats::set_next_offsets(
    const std::vector<std::pair<kafka::Partition, kafka::Offset>>& offsets) {
  std::lock_guard lock(mutex_);
  // A commit names only the partitions of its batch: merge, keeping the others.
  for (const auto& [partition, offset] : offsets) {
    bool found = false;
    for (auto& [p, o] : next_offsets_) {
      if (p == partition) {
        o = offset;
        found = true;
      }
    }
    if (!found) next_offsets_.emplace_back(partition, offset);
  }
}

void ApplyStats::drop_next_offsets(const std::vector<kafka::Partition>& partitions) {
  std::lock_guard lock(mutex_);
  std::erase_if(next_offsets_, [&](const auto& e) {
    return std::find(partitions.begin(), partitions.end(), e.first) != partitions.end();
  });
}

std::vector<std::pair<kafka::Partition, kafka::Offset>> ApplyStats::next_offsets() const {
  std::lock_guard lock(mutex_);
  return next_offsets_;
}

void ApplyStats::set_lag(ApplyLag lag) {
  std::lock_guard lock(mutex_);
  lag_ = std::move(lag);
}

ApplyLag ApplyStats::lag() const {
  std::lock_guard lock(mutex_);
  return lag_;
}

}  // namespace modsync::apply
