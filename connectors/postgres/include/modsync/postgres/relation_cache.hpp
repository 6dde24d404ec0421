#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "modsync/postgres/pgoutput.hpp"

namespace modsync::pg {

/// The relations described so far in one replication session, by relation id.
///
/// Invariant it relies on: within a session, pgoutput sends a Relation message before the first
/// row message (Insert, Update, Delete, Truncate) of that relation, and again before the next
/// row message after the relation's definition changed. So a row whose relation id is not
/// here means a protocol violation or a cache that outlived its session; the caller must treat
/// it as fatal rather than guess a layout. The cache starts empty for each new session: the
/// server resends every Relation after a reconnect.
///
/// Not thread-safe; owned by the one thread that decodes the stream.
class RelationCache {
 public:
  /// Inserts `relation`, or replaces the one with the same id. Returns the stored relation.
  /// Pointers from find() to other relations stay valid; one to the replaced relation keeps
  /// pointing at the same slot, which now holds the new definition.
  const Relation& upsert(Relation relation);

  /// The relation with `id`, or nullptr if none was seen. Valid until erase(id) or clear().
  const Relation* find(uint32_t id) const;

  /// Forgets `id`; returns whether it was present.
  bool erase(uint32_t id);

  /// Forgets every relation (a new session starts).
  void clear() { relations_.clear(); }

  size_t size() const { return relations_.size(); }

 private:
  std::unordered_map<uint32_t, Relation> relations_;
};

}  // namespace modsync::pg
