#include "batch_applier.hpp"

#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "apply_positions.hpp"
#include "modsync/common/time.hpp"
#include "modsync/event/event_headers.hpp"
#include "modsync/pg/pg_connection.hpp"

namespace modsync::apply {

namespace {

using Kind = ProjectedEvent::Kind;

}  // namespace

BatchApplier::BatchApplier(BatchApplierOptions options, const kafka::KafkaSettings& settings,
                           pgsink::ProjectionWriter& writer, checkpoint::CheckpointStore& store,
                           ApplyStats& stats)
    : options_(std::move(options)),
      writer_(writer),
      store_(store),
      stats_(stats),
      segment_(options_.soft_deletes) {
  // An owner on the process's shared producer: its flush waits for this projection's dead
  // letters only.
  dlq_ = std::make_unique<kafka::Producer>(
      kafka::Producer::shared(settings, [this](uint64_t, const kafka::DeliveryResult& r) {
        if (!r.ok() && !dlq_error_) {
          dlq_error_.emplace(ErrorKind::kRetriable,
                             fmt::format("{}: the dead-letter topic {} did not take an event: {}",
                                         options_.context, r.topic, r.error_text));
        }
      }));
}

bool MergeSegment::must_follow(const ProjectedEvent& line) const {
  const bool needs_row = line.line.op == pgsink::StageOp::kPartial ||
                         (line.line.op == pgsink::StageOp::kDelete && soft_deletes_);
  return needs_row && keys_.count(line.key_hash);
}

void MergeSegment::add(const ProjectedEvent& line, const pgsink::StageLines& lines) {
  text_.append(lines.slice(line.line));
  if (!keys_.insert(line.key_hash).second) distinct_keys_ = false;
}

void MergeSegment::clear() {
  text_.clear();
  keys_.clear();
  distinct_keys_ = true;
}

void BatchApplier::apply(const std::vector<kafka::Message>& batch,
                         std::vector<ProjectedEvent>& entries, const pgsink::StageLines& lines) {
  batch_ = &batch;
  entries_ = &entries;
  lines_ = &lines;
  apply_range(0, entries.size());
}

void BatchApplier::send_dead_letter(const kafka::Message& m, const std::string& why) {
  kafka::Headers headers;
  auto original = m.headers();
  for (const auto& [k, v] : original) headers.add(k, v);
  const std::string partition = std::to_string(m.partition().value);
  const std::string offset = std::to_string(m.offset().value);
  headers.add(event::kDlqErrorHeader, why);
  headers.add(event::kDlqProjectionHeader, options_.projection_id);
  headers.add(event::kDlqTopicHeader, m.topic());
  headers.add(event::kDlqPartitionHeader, partition);
  headers.add(event::kDlqOffsetHeader, offset);
  dlq_->produce(options_.dlq_topic, m.has_key() ? m.key().data() : nullptr, m.key().size(),
                m.value(), headers, 0);
  stats_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("{}: event at {} [{}] offset {} sent to dead-letter topic {}: {}", options_.context,
               m.topic(), m.partition(), m.offset(), options_.dlq_topic, why);
}

void BatchApplier::apply_range(size_t from, size_t to) {
  if (from >= to) return;
  const auto& batch = *batch_;
  auto& entries = *entries_;
  try {
    writer_.begin();
    const auto merge = [&] {
      writer_.apply(segment_.text(), segment_.distinct_keys());
      segment_.clear();
    };
    segment_.clear();
    bool has_dead_letters = false;
    for (size_t i = from; i < to; ++i) {
      const ProjectedEvent& e = entries[i];
      if (e.kind == Kind::kLine) {
        if (segment_.must_follow(e)) merge();
        segment_.add(e, *lines_);
      } else if (e.kind == Kind::kTruncate) {
        merge();
        writer_.truncate(e.position);
      } else if (e.kind == Kind::kDeadLetter) {
        has_dead_letters = true;
      }
    }
    merge();
    if (options_.check_ownership) options_.check_ownership();
    // Sent only once the rows applied: a data error splits this range and retries its halves,
    // and a dead letter sent before that would be sent again with its half.
    if (has_dead_letters) {
      for (size_t i = from; i < to; ++i) {
        if (entries[i].kind == Kind::kDeadLetter) send_dead_letter(batch[i], entries[i].error);
      }
    }
    std::map<std::pair<std::string, kafka::Partition>, kafka::Offset> next;
    for (size_t i = from; i < to; ++i) {
      auto key = std::make_pair(std::string(batch[i].topic()), batch[i].partition());
      next[key] = std::max(next[key], batch[i].offset().next());
    }
    std::vector<pgsink::StoredOffset> offsets;
    for (const auto& [k, v] : next) offsets.push_back({k.first, k.second, v});
    if (has_dead_letters) {
      // A dead-lettered event is only skipped once Kafka holds its copy.
      const bool flushed = dlq_->flush(30000);
      if (dlq_error_) throw *dlq_error_;
      if (!flushed) {
        fail_retriable(
            "{}: the dead-letter topic {} did not acknowledge {} event(s) within "
            "30 s; their offsets are not committed, so they are retried",
            options_.context, options_.dlq_topic, dlq_->in_flight());
      }
    }
    writer_.save_offsets(offsets);
    writer_.commit();
    std::vector<checkpoint::SinkOffset> saved;
    for (const auto& o : offsets) {
      saved.push_back({o.topic, o.partition, o.next_offset});
    }
    store_.save_sink_offsets(options_.projection_id, saved);
    publish_positions(stats_, saved);
    count(from, to);
  } catch (const pg::SqlError& e) {
    writer_.rollback();
    if (!e.is_data_error()) throw;
    if (to - from == 1) {
      entries[from] = ProjectedEvent::dead_letter(e.what());
      apply_range(from, to);
      return;
    }
    const size_t mid = from + (to - from) / 2;
    apply_range(from, mid);
    apply_range(mid, to);
  } catch (...) {
    writer_.rollback();
    throw;
  }
}

void BatchApplier::count(size_t from, size_t to) {
  int64_t last_ts = 0;
  for (size_t i = from; i < to; ++i) {
    const ProjectedEvent& e = (*entries_)[i];
    if (e.kind == Kind::kLine) {
      (e.line.op == pgsink::StageOp::kDelete ? stats_.rows_deleted : stats_.rows_upserted)
          .fetch_add(1, std::memory_order_relaxed);
    } else if (e.kind == Kind::kTruncate) {
      stats_.truncates.fetch_add(1, std::memory_order_relaxed);
    }
    if (e.source_ts_ms) last_ts = e.source_ts_ms;
  }
  stats_.events_consumed.fetch_add(to - from, std::memory_order_relaxed);
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
  if (last_ts) {
    stats_.last_commit_unix_ms.store(last_ts, std::memory_order_relaxed);
    stats_.last_apply_lag_ms.store(now_unix_ms() - last_ts, std::memory_order_relaxed);
  }
}

}  // namespace modsync::apply
