#include "modsync/capture/ack_tracker.hpp"

namespace modsync::capture {

uint64_t AckTracker::add(std::optional<Position> position) {
  if (entries_.empty()) base_seq_ = next_seq_;
  entries_.push_back(Entry{position});
  return next_seq_++;
}

void AckTracker::mark(uint64_t token) {
  if (entries_.empty()) {
    completed_token_ = token;
    return;
  }
  entries_.back().has_mark = true;
  entries_.back().token = token;
}

void AckTracker::acked(uint64_t seq) {
  if (seq < base_seq_ || seq >= base_seq_ + entries_.size()) return;
  entries_[seq - base_seq_].acked = true;
  advance();
}

void AckTracker::advance() {
  while (!entries_.empty() && entries_.front().acked) {
    const Entry& e = entries_.front();
    if (e.position) acked_position_ = e.position;
    if (e.has_mark) completed_token_ = e.token;
    entries_.pop_front();
    ++base_seq_;
  }
}

void AckTracker::reset() {
  entries_.clear();
  base_seq_ = next_seq_;
  acked_position_.reset();
  completed_token_.reset();
}

}  // namespace modsync::capture
