#include "modsync/apply/projection_reset.hpp"

#include <chrono>
#include <string>
#include <vector>

#include "modsync/apply/apply_pipeline.hpp"
#include "modsync/kafka/producer.hpp"
#include "modsync/kafka/settings.hpp"
#include "modsync/pgsink/projection_writer.hpp"
#include "modsync/pg/pg_connection.hpp"

namespace modsync::apply {

struct ProjectionReset::Impl {
  const config::PairConfig& pair;
  kafka::Producer producer;
  pg::PgConnection conn;

  /// The end offset of every partition of `topic`: events produced after this call are at or
  /// beyond them.
  std::vector<pgsink::StoredOffset> end_offsets(const std::string& topic) {
    const int partitions = producer.partition_count(topic, std::chrono::seconds(10));
    std::vector<pgsink::StoredOffset> out;
    for (int p = 0; p < partitions; ++p) {
      const kafka::Partition partition{p};
      out.push_back(
          {topic, partition, producer.watermarks(topic, partition, std::chrono::seconds(10)).high});
    }
    return out;
  }
};

namespace {

kafka::KafkaSettings settings_of(const config::PairConfig& pair) {
  return kafka::settings_from(pair.kafka);
}

}  // namespace

ProjectionReset::ProjectionReset(const config::PairConfig& pair)
    : impl_(new Impl{
          pair,
          kafka::Producer::shared(settings_of(pair), [](uint64_t, const kafka::DeliveryResult&) {}),
          pg::PgConnection::connect(pair.sink->effective_dsn, pg::PgConnection::Mode::kRegular,
                                    "sink " + pair.sink->module)}) {
  pgsink::ProjectionWriter::ensure_offsets_table(impl_->conn);
}

ProjectionReset::~ProjectionReset() = default;

bool ProjectionReset::reset(const config::Projection& projection, bool from_topic_end) {
  const std::string topic = config::projection_topic(impl_->pair, projection);
  const auto offsets =
      from_topic_end ? impl_->end_offsets(topic) : std::vector<pgsink::StoredOffset>{};
  pgsink::ProjectionWriter::reset(impl_->conn, {projection.to.schema, projection.to.table},
                                  ApplyPipeline::projection_id(impl_->pair, projection), offsets);
  return !offsets.empty();
}

}  // namespace modsync::apply
