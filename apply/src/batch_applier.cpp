#include "batch_applier.hpp"

#include <algorithm>
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
      segment_(options_.soft_deletes, writer.append_only(), writer.positioned(),
               writer.key_values()) {
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

size_t MergeSegment::KeySet::find(uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  size_t i = (hash ^ (hash >> 29)) & mask;
  while (slots_[i].generation == generation_ && slots_[i].hash != hash) i = (i + 1) & mask;
  return i;
}

bool MergeSegment::KeySet::contains(uint64_t hash) const {
  return !slots_.empty() && slots_[find(hash)].generation == generation_;
}

bool MergeSegment::KeySet::insert(uint64_t hash, uint32_t& value) {
  if ((size_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old(std::max<size_t>(1024, slots_.size() * 2));
    old.swap(slots_);
    size_ = 0;
    for (const Slot& s : old)
      if (s.generation == generation_) slots_[find(s.hash)] = s, ++size_;
  }
  Slot& slot = slots_[find(hash)];
  if (slot.generation == generation_) {
    value = slot.value;
    return false;
  }
  slot = {hash, generation_, value};
  ++size_;
  return true;
}

void MergeSegment::KeySet::clear() {
  size_ = 0;
  if (++generation_ == 0) {  // wrapped: old slots could look current
    std::fill(slots_.begin(), slots_.end(), Slot{});
    generation_ = 1;
  }
}

bool MergeSegment::must_follow(const ProjectedEvent& line) const {
  const bool needs_row = line.line.op == pgsink::StageOp::kPartial ||
                         (line.line.op == pgsink::StageOp::kDelete && soft_deletes_);
  return needs_row && keys_.contains(line.key_hash);
}

namespace {

/// Value `index` of stage line `line` (op \t lsn \t seq \t unchanged \t v0 \t …), as COPY text.
std::string_view stage_value(std::string_view line, size_t index) {
  size_t at = 0;
  for (size_t tabs = 0; tabs < 4 + index; ++tabs) {
    at = line.find('\t', at);
    if (at == std::string_view::npos) return {};
    ++at;
  }
  const size_t end = line.find_first_of("\t\n", at);
  return line.substr(at, end == std::string_view::npos ? line.size() - at : end - at);
}

}  // namespace

bool MergeSegment::same_key(const Held& a, const Held& b) const {
  const std::string_view la = lines_->slice(a.line), lb = lines_->slice(b.line);
  for (const size_t k : key_values_)
    if (stage_value(la, k) != stage_value(lb, k)) return false;
  return true;
}

void MergeSegment::add(const ProjectedEvent& line, const pgsink::StageLines& lines) {
  lines_ = &lines;
  if (held_.empty() || line.position < oldest_) oldest_ = line.position;
  const auto index = static_cast<uint32_t>(held_.size());
  held_.push_back({line.line, line.position, line.new_row});
  if (!line.new_row) ++not_new_;
  text_built_ = false;
  uint32_t earlier = index;
  if (keys_.insert(line.key_hash, earlier)) return;
  Held& now = held_.back();
  Held& before = held_[earlier];
  if (append_only_ || key_values_.empty() || !same_key(before, now)) {
    distinct_keys_ = false;  // the merge finds the newest line per key
    return;
  }
  // Of two lines at one position (an event consumed twice) the later stays. The older line's
  // row was usually absent: so is the newer one's, unless it removes the row.
  Held& newer = now.position < before.position ? before : now;
  Held& older = &newer == &now ? before : now;
  if (older.new_row && !newer.new_row && newer.line.op == pgsink::StageOp::kUpsert) {
    newer.new_row = true;
    --not_new_;
  }
  older.superseded = true;
  if (!older.new_row) --not_new_;
  keys_.set(line.key_hash, static_cast<uint32_t>(&newer - held_.data()));
}

std::string_view MergeSegment::text() {
  if (!text_built_) {
    text_.clear();
    for (const Held& h : held_) {
      if (h.superseded) continue;
      const size_t at = text_.size();
      text_.append(lines_->slice(h.line));
      // The merge then inserts these first and updates the others first: one index probe
      // each where the row is as expected, where ON CONFLICT's speculative insertion of an
      // update locked the row (WAL) before updating it.
      if (h.new_row && !append_only_) text_[at] = static_cast<char>(pgsink::StageOp::kInsert);
    }
    text_built_ = true;
  }
  return text_;
}

bool MergeSegment::new_rows() {
  if (!append_only_) return not_new_ == 0 && distinct_keys_;
  // Without a key, the position says which source row change a line is: one re-sent by the
  // capture and consumed in the same batch is left to the merge (DISTINCT ON position).
  std::sort(held_.begin(), held_.end(),
            [](const Held& a, const Held& b) { return a.position < b.position; });
  text_built_ = false;
  for (size_t i = 1; i < held_.size(); ++i)
    if (held_[i].position == held_[i - 1].position) return false;
  return true;
}

std::string_view MergeSegment::target_lines() {
  text_.clear();
  text_built_ = false;
  for (const Held& h : held_) {
    if (h.superseded) continue;
    if (h.line.op != pgsink::StageOp::kUpsert) continue;  // append-only: nothing to append
    pgsink::StageLines::append_target_line(lines_->slice(h.line), positioned_, text_);
  }
  return text_;
}

void MergeSegment::clear() {
  held_.clear();
  text_.clear();
  text_built_ = false;
  keys_.clear();
  distinct_keys_ = true;
  not_new_ = 0;
}

void BatchApplier::apply(const std::vector<kafka::Message>& batch,
                         std::vector<ProjectedEvent>& entries, const pgsink::StageLines& lines) {
  batch_ = &batch;
  entries_ = &entries;
  lines_ = &lines;
  apply_range(0, entries.size());
}

void BatchApplier::merge_segment() {
  if (segment_.size() == 0) return;
  if (writer_.takes_new_rows() && segment_.new_rows()) {
    if (writer_.insert_new(segment_.target_lines(), segment_.oldest())) {
      stats_.rows_bulk_inserted.fetch_add(segment_.size(), std::memory_order_relaxed);
      segment_.clear();
      return;
    }
    stats_.bulk_fallbacks.fetch_add(1, std::memory_order_relaxed);
  }
  writer_.apply(segment_.text(), segment_.distinct_keys());
  segment_.clear();
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
    for (size_t i = from; i < to; ++i) {
      if (entries[i].kind == Kind::kTruncate) {
        writer_.lock_for_truncate();
        break;
      }
    }
    segment_.clear();
    bool has_dead_letters = false;
    for (size_t i = from; i < to; ++i) {
      const ProjectedEvent& e = entries[i];
      if (e.kind == Kind::kLine) {
        if (segment_.must_follow(e)) merge_segment();
        segment_.add(e, *lines_);
      } else if (e.kind == Kind::kTruncate) {
        merge_segment();
        writer_.truncate(e.position);
      } else if (e.kind == Kind::kDeadLetter) {
        has_dead_letters = true;
      }
    }
    merge_segment();
    if (options_.check_ownership) options_.check_ownership();
    // Sent only once the rows applied: a data error splits this range and retries its halves,
    // and a dead letter sent before that would be sent again with its half.
    if (has_dead_letters) {
      for (size_t i = from; i < to; ++i) {
        if (entries[i].kind == Kind::kDeadLetter) send_dead_letter(batch[i], entries[i].error);
      }
    }
    // Keyed by views of the batch's topic names: a std::string key allocated once per event
    // (a topic name is longer than the small-string buffer).
    std::map<std::pair<std::string_view, kafka::Partition>, kafka::Offset> next;
    for (size_t i = from; i < to; ++i) {
      kafka::Offset& o = next[{batch[i].topic(), batch[i].partition()}];
      o = std::max(o, batch[i].offset().next());
    }
    std::vector<pgsink::StoredOffset> offsets;
    for (const auto& [k, v] : next) offsets.push_back({std::string(k.first), k.second, v});
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
