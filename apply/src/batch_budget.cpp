#include "batch_budget.hpp"

#include <algorithm>

namespace modsync::apply {

BatchBudget::BatchBudget(size_t max_rows, size_t max_bytes)
    : max_rows_(std::max<size_t>(1, max_rows)), max_bytes_(std::max<size_t>(1, max_bytes)) {}

void BatchBudget::count(size_t rows, size_t bytes) {
  rows_ = rows;
  bytes_ = bytes;
  if (rows > 0) average_ = std::max<size_t>(1, bytes / rows);
}

size_t BatchBudget::room() const {
  if (full()) return 0;
  const size_t rows_left = max_rows_ - rows_;
  if (average_ == 0) return std::min(rows_left, kFirstPoll);
  const size_t bytes_left = max_bytes_ > bytes_ ? max_bytes_ - bytes_ : 0;
  return std::clamp<size_t>((bytes_left + average_ - 1) / average_, 1, rows_left);
}

size_t batch_bytes(const std::vector<kafka::Message>& batch) {
  size_t bytes = 0;
  for (const auto& m : batch) bytes += m.key().size() + m.value().size();
  return bytes;
}

}  // namespace modsync::apply
