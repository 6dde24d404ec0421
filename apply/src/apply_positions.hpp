#pragma once
// What the apply pipeline tells its ApplyStats about its positions, for the lag probe: one call
// where it assigns partitions, one where it commits a batch.

#include <vector>

#include "modsync/apply/apply_stats.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/kafka/types.hpp"

namespace modsync::apply {

/// The positions the consumer was assigned.
void publish_positions(ApplyStats& stats, const std::vector<kafka::TopicPartitionOffset>& assigned);
/// The next offsets a committed batch recorded.
void publish_positions(ApplyStats& stats, const std::vector<checkpoint::SinkOffset>& committed);

}  // namespace modsync::apply
