#include "batch_applier_thread.hpp"

#include <utility>

#include "thread_name.hpp"

namespace modsync::apply {

BatchApplierThread::BatchApplierThread(BatchApplier& applier, std::string name)
    : applier_(applier), name_(std::move(name)), thread_([this] { run(); }) {}

BatchApplierThread::~BatchApplierThread() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void BatchApplierThread::wait_idle(std::unique_lock<std::mutex>& lock) {
  changed_.wait(lock, [this] { return !busy_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void BatchApplierThread::submit(std::vector<kafka::Message>& batch,
                                std::vector<ProjectedEvent>& entries, pgsink::StageLines& lines) {
  {
    std::unique_lock lock(mutex_);
    wait_idle(lock);
    std::swap(batch_, batch);
    std::swap(entries_, entries);
    std::swap(lines_, lines);
    busy_ = true;
  }
  changed_.notify_all();
  // The spent buffers are emptied here, not on the applier's thread: freeing the consumed
  // messages is part of the work that now overlaps the subscriber's merge.
  batch.clear();
  entries.clear();
  lines.clear();
}

void BatchApplierThread::drain() {
  std::unique_lock lock(mutex_);
  wait_idle(lock);
}

void BatchApplierThread::check() {
  std::lock_guard lock(mutex_);
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void BatchApplierThread::run() {
  if (!name_.empty()) set_thread_name(name_);
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return busy_ || stop_; });
    if (!busy_) return;  // stopped with nothing in flight
    lock.unlock();
    std::exception_ptr error;
    try {
      applier_.apply(batch_, entries_, lines_);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    error_ = error;
    busy_ = false;
    changed_.notify_all();
    if (stop_) return;
  }
}

}  // namespace modsync::apply
