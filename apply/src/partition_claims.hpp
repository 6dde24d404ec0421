#pragma once
// Which process applies each partition of a projection, recorded in the subscriber database
// (modsync.partition_claims), so that a process that lost a partition cannot commit a batch of
// it after another process took it over (docs/scaling.md, "Handing partitions over").

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "modsync/pg/pg_connection.hpp"

namespace modsync::apply {

/// One projection's partition claims, held by one process. A claim is a row (projection,
/// topic, partition) with an epoch that each new claimant increments. claim() runs in its own
/// transaction and reads the stored offsets after its increment: a batch of the previous owner
/// that passed check() still holds the row locked, so claim() waits for it to commit and then
/// reads its offsets; a batch that had not passed check() yet sees the new epoch there and rolls
/// back. Either way each event is applied by exactly one of them. Not thread-safe; `conn` must
/// outlive it and is the one the batches run on.
class PartitionClaims {
 public:
  PartitionClaims(pg::PgConnection& conn, std::string projection_id, std::string topic,
                  std::string context);

  /// Creates modsync.partition_claims if missing; outside a transaction, safe concurrently.
  static void ensure_table(pg::PgConnection& conn);

  /// Claims `partitions` for this process and returns their stored next offsets (same order;
  /// nullopt: none stored yet). Outside a transaction. Waits for a batch of the previous owner
  /// that is committing; each `wait_step` it still waits, it says which sessions hold the
  /// claims (a replica frozen inside its batch: docs/scaling.md) and waits again.
  std::vector<std::optional<int64_t>> claim(const std::vector<int32_t>& partitions);
  /// Where claim()'s waits are reported (default: a warning in the log), and how often.
  void on_wait(std::function<void(const std::string&)> report,
               std::chrono::milliseconds wait_step = std::chrono::seconds(5)) {
    report_wait_ = std::move(report);
    wait_step_ = wait_step;
  }
  /// Forgets the claims of `partitions` (revoked); the next claimant's epoch supersedes them.
  void release(const std::vector<int32_t>& partitions);
  bool owns(int32_t partition) const { return epochs_.count(partition) != 0; }

  /// Inside a batch's transaction: locks the claims of `partitions` until it ends and throws a
  /// retriable modsync::Error when one of them is not (or no longer) this process's.
  void check(const std::vector<int32_t>& partitions);

  /// This process, as the claims record it: host name and process id.
  static std::string this_owner();

 private:
  pg::PgConnection& conn_;
  std::string projection_id_, topic_, context_, owner_;
  std::map<int32_t, int64_t> epochs_;
  std::function<void(const std::string&)> report_wait_;
  std::chrono::milliseconds wait_step_ = std::chrono::seconds(5);

  /// The sessions idle in a transaction that holds locks on modsync.partition_claims.
  std::string claim_holders();
};

}  // namespace modsync::apply
