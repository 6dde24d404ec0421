#include "modsync/postgres/relation_cache.hpp"

#include <catch2/catch.hpp>

namespace modsync::pg {
namespace {

Relation make_relation(uint32_t id, std::string name, size_t columns) {
  Relation relation;
  relation.id = id;
  relation.nspname = "public";
  relation.relname = std::move(name);
  for (size_t i = 0; i < columns; ++i) {
    relation.columns.push_back({"c" + std::to_string(i), 23, -1, i == 0});
  }
  return relation;
}

TEST_CASE("RelationCache finds what was upserted and nothing else", "[relation_cache]") {
  RelationCache cache;
  CHECK(cache.size() == 0);
  CHECK(cache.find(16385) == nullptr);

  const Relation& stored = cache.upsert(make_relation(16385, "orders", 2));
  CHECK(stored.relname == "orders");
  CHECK(cache.size() == 1);
  const Relation* found = cache.find(16385);
  REQUIRE(found != nullptr);
  CHECK(found == &stored);
  CHECK(found->columns.size() == 2);
  CHECK(cache.find(16386) == nullptr);
}

TEST_CASE("RelationCache replaces a relation whose definition changed", "[relation_cache]") {
  RelationCache cache;
  cache.upsert(make_relation(1, "orders", 2));
  const Relation* other = &cache.upsert(make_relation(2, "items", 1));
  const Relation* before = cache.find(1);

  cache.upsert(make_relation(1, "orders", 3));
  CHECK(cache.size() == 2);
  REQUIRE(cache.find(1) != nullptr);
  CHECK(cache.find(1) == before);
  CHECK(cache.find(1)->columns.size() == 3);
  CHECK(cache.find(2) == other);
  CHECK(other->relname == "items");
}

TEST_CASE("RelationCache erase and clear forget relations", "[relation_cache]") {
  RelationCache cache;
  cache.upsert(make_relation(1, "a", 1));
  cache.upsert(make_relation(2, "b", 1));
  CHECK(cache.erase(1));
  CHECK_FALSE(cache.erase(1));
  CHECK(cache.find(1) == nullptr);
  CHECK(cache.find(2) != nullptr);
  CHECK(cache.size() == 1);
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK(cache.find(2) == nullptr);
}

}  // namespace
}  // namespace modsync::pg
