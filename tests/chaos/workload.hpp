#pragma once
// The random DML of a chaos run: rows seeded before modsync starts, then transactions of every
// shape on one connection until told to stop (a run may have several writers). What the workload
// wrote is never remembered as the truth: the oracle reads the source afterwards. Keys are tracked
// only to aim updates and deletes at rows that probably exist.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "scenario.hpp"

namespace modsync::chaos {

struct WorkloadStats {
  int64_t transactions = 0;
  int64_t statements = 0;
  int64_t failed = 0;  ///< transactions rolled back (constraint errors, lost connections)
  int64_t reconnects = 0;
  int64_t truncates = 0;
  int64_t pk_changes = 0;
  int64_t big_writes = 0;  ///< TOAST-sized values written
  int64_t large_transactions = 0;
  int64_t schema_changes = 0;  ///< columns added or dropped (committed)

  WorkloadStats& operator+=(const WorkloadStats& o) {
    transactions += o.transactions;
    statements += o.statements;
    failed += o.failed;
    reconnects += o.reconnects;
    truncates += o.truncates;
    pk_changes += o.pk_changes;
    big_writes += o.big_writes;
    large_transactions += o.large_transactions;
    schema_changes += o.schema_changes;
    return *this;
  }
};

/// Single-threaded: seed() on the main thread before start, then run() on the workload thread.
/// Writers of one run use key ranges apart (`first_key`), so each aims its updates and deletes
/// at its own rows; their transactions still interleave (and truncates hit every writer's rows).
class Workload {
 public:
  Workload(const Scenario& scenario, std::string dsn, uint64_t seed, int64_t first_key = 1);

  /// Inserts each table's seed rows (one transaction per table). Throws on failure.
  void seed();
  /// Runs transactions until `stop` is set, reconnecting (and retrying) while the source is
  /// down. Never throws; errors are counted.
  void run(const std::atomic<bool>& stop);
  const WorkloadStats& stats() const { return stats_; }

 private:
  struct TableState {
    int64_t next_key = 1;
    std::vector<int64_t> live;  ///< keys that probably exist
    std::vector<int64_t> dead;  ///< keys deleted, for re-inserts
    int truncates = 0;
    int big_budget = 0;
    std::vector<std::string> added;  ///< columns this run added (and has not dropped yet)
  };

  std::string insert_sql(const Table& t, TableState& s, int64_t key);
  std::string bulk_insert_sql(const Table& t, TableState& s, int rows);
  std::string update_sql(const Table& t, TableState& s);
  std::string key_where(const Table& t, int64_t key) const;
  std::string key_values(const Table& t, int64_t key) const;
  std::vector<std::string> transaction(std::vector<std::string>& notes);
  int big_size(const Table& t, TableState& s, double p);

  const Scenario& scenario_;
  std::string dsn_;
  Rng rng_;
  std::vector<TableState> state_;
  int schema_budget_ = 0;  ///< schema changes left (the first writer's only)
  int schema_serial_ = 0;
  bool schema_change_pending_ = false;  ///< the transaction being run changes a schema
  WorkloadStats stats_;
};

}  // namespace modsync::chaos
