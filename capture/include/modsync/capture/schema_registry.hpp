#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/event/table_schema.hpp"

namespace modsync::capture {

/// Assigns schema versions to the tables a source publishes and remembers which relation id
/// is which table. A table's version starts at 1 and increments when its column set or types
/// change; the history lives in the checkpoint store, so versions survive restarts.
/// Invariant: a replayed Relation message whose columns equal an earlier version's gets that
/// version again, never a new one. Not thread-safe.
class SchemaRegistry {
 public:
  struct Update {
    const event::TableSchema* schema = nullptr;  ///< owned by the registry
    /// True the first time this run sees the table, or when its version changed: publish
    /// the schema on the schemas topic (consumers treat repeats as no-ops).
    bool publish = false;
  };

  /// `store` must outlive the registry.
  explicit SchemaRegistry(checkpoint::CheckpointStore& store) : store_(store) {}

  /// Registers (or re-registers) `relation_id` as `schema` (module/database/schema/table/topic
  /// and columns filled by the caller; version is assigned here). `at` is the LSN where the
  /// description took effect.
  Update on_relation(uint32_t relation_id, event::TableSchema schema, Lsn at);

  /// The table behind `relation_id`, or nullptr if no Relation message announced it.
  const event::TableSchema* find(uint32_t relation_id) const;

 private:
  checkpoint::CheckpointStore& store_;
  std::unordered_map<uint32_t, event::TableSchema> tables_;
};

}  // namespace modsync::capture
