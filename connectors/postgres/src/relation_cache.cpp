#include "modsync/postgres/relation_cache.hpp"

#include <utility>

namespace modsync::pg {

const Relation& RelationCache::upsert(Relation relation) {
  uint32_t id = relation.id;
  auto [it, inserted] = relations_.try_emplace(id, std::move(relation));
  if (!inserted) it->second = std::move(relation);
  return it->second;
}

const Relation* RelationCache::find(uint32_t id) const {
  auto it = relations_.find(id);
  return it == relations_.end() ? nullptr : &it->second;
}

bool RelationCache::erase(uint32_t id) {
  return relations_.erase(id) != 0;
}

}  // namespace modsync::pg
