#include "durability_tracker.hpp"

#include <algorithm>

namespace modsync::capture {

void DurabilityTracker::Entries::push_back(Entry e) {
  if (size_ == slots_.size()) {
    // Full: the entries move, in order, to the front of an array twice the size.
    std::vector<Entry> grown(std::max<size_t>(1024, slots_.size() * 2));
    for (size_t i = 0; i < size_; ++i) grown[i] = std::move((*this)[i]);
    slots_.swap(grown);
    head_ = 0;
  }
  (*this)[size_++] = std::move(e);
}

void DurabilityTracker::Entries::clear() {
  while (!empty()) pop_front();
  head_ = 0;
}

EventSeq DurabilityTracker::add(std::optional<Position> position) {
  if (entries_.empty()) base_seq_ = next_seq_;
  entries_.push_back(Entry{position});
  return EventSeq{next_seq_++};
}

void DurabilityTracker::acked(EventSeq seq) {
  if (seq.value < base_seq_ || seq.value >= base_seq_ + entries_.size()) return;
  entries_[seq.value - base_seq_].acked = true;
  advance();
}

void DurabilityTracker::failed(EventSeq seq) {
  if (seq.value < base_seq_ || seq.value >= base_seq_ + entries_.size()) return;
  if (!failure_ || seq < *failure_) failure_ = seq;
}

void DurabilityTracker::end_unit(Lsn confirm_at) {
  if (entries_.empty()) {
    completed_unit_ = confirm_at;
    return;
  }
  entries_.back().unit_end = confirm_at;
}

void DurabilityTracker::end_chunk(ChunkToken token) {
  if (entries_.empty()) {
    completed_chunk_ = token;
    return;
  }
  entries_.back().chunk_end = token;
}

void DurabilityTracker::advance() {
  while (!entries_.empty() && entries_.front().acked) {
    // A failed event stays at the front for good: an acknowledgement Kafka reports for it
    // later (or a librdkafka retry's) must not count, the run resumes from the checkpoint.
    if (failure_ && failure_->value == base_seq_) return;
    const Entry& e = entries_.front();
    if (e.position) acked_position_ = e.position;
    if (e.unit_end) completed_unit_ = e.unit_end;
    if (e.chunk_end) completed_chunk_ = e.chunk_end;
    entries_.pop_front();
    ++base_seq_;
  }
}

void DurabilityTracker::received(Lsn lsn) {
  received_ = std::max(received_, lsn);
}

void DurabilityTracker::keepalive(Lsn wal_end, bool in_transaction) {
  received(wal_end);
  if (!in_transaction && entries_.empty() && !failure_) idle_lsn_ = std::max(idle_lsn_, wal_end);
}

void DurabilityTracker::resume(const std::optional<checkpoint::SourceCheckpoint>& saved) {
  if (!saved) return;
  recorded_acked_ = saved->acked;
  confirmed_ = saved->confirmed;
}

std::optional<Position> DurabilityTracker::resume_after() const {
  if (!recorded_acked_ || recorded_acked_->commit_lsn.is_zero()) return std::nullopt;
  return recorded_acked_;
}

std::optional<checkpoint::SourceCheckpoint> DurabilityTracker::checkpoint_due(
    bool in_transaction, int64_t now_unix_ms) const {
  Lsn confirm = confirmed_;
  if (completed_unit_) confirm = std::max(confirm, *completed_unit_);
  if (!in_transaction && entries_.empty() && !failure_) confirm = std::max(confirm, idle_lsn_);
  const auto acked = acked_position_ ? acked_position_ : recorded_acked_;
  if (acked == recorded_acked_ && confirm == confirmed_) return std::nullopt;
  return checkpoint::SourceCheckpoint{acked.value_or(Position{}), confirm, now_unix_ms};
}

void DurabilityTracker::recorded(const checkpoint::SourceCheckpoint& saved) {
  recorded_acked_ = saved.acked;
  confirmed_ = saved.confirmed;
}

void DurabilityTracker::forget_in_flight() {
  entries_.clear();
  base_seq_ = next_seq_;
  failure_.reset();
  acked_position_.reset();
  completed_unit_.reset();
  completed_chunk_.reset();
}

}  // namespace modsync::capture
