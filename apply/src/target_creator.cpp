#include "target_creator.hpp"

#include <map>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"
#include "modsync/event/schema_event.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/producer.hpp"
#include "modsync/kafka/settings.hpp"
#include "modsync/pgsink/target_table.hpp"

namespace modsync::apply {

namespace {

/// The type to create a target column of source column `c` with: the source's type name, which
/// must name a type in the subscriber database too (user-defined types, extensions).
std::string target_type(const config::Projection& projection, pg::PgConnection& conn,
                        const event::SchemaColumn& c) {
  if (c.type_name.empty()) {
    // A schema published before the type names: only built-in OIDs mean the same here.
    if (c.type_oid < pgsink::kFirstNormalObjectId) {
      return conn.query_value(
          fmt::format("SELECT format_type({}, {})", c.type_oid, c.type_modifier));
    }
    fail("{}:{}: projection to {}: column {} has a user-defined type (OID {} in the source), and "
         "the published schema does not name it. Fix: restart the capture with this modsync "
         "version so it republishes the schema with type names, or create the table yourself",
         projection.location.file, projection.location.line, projection.to.qualified(), c.name,
         c.type_oid);
  }
  if (c.type_oid >= pgsink::kFirstNormalObjectId) {
    pg::PgResult r = conn.exec_params("SELECT to_regtype($1) IS NOT NULL", {c.type_name});
    if (r.rows() == 0 || r.value(0, 0) != "t") {
      fail("{}:{}: projection to {}: column {} is of type {}, which the subscriber database does "
           "not have. Fix: create the type there as in the source (CREATE TYPE, CREATE DOMAIN or "
           "CREATE EXTENSION), or create the table yourself",
           projection.location.file, projection.location.line, projection.to.qualified(), c.name,
           c.type_name);
    }
  }
  return c.type_name;
}

}  // namespace

std::optional<std::vector<event::SchemaColumn>> latest_source_schema(const config::PairConfig& pair,
                                                              const config::SourceTable& from) {
  const kafka::KafkaSettings settings = kafka::settings_from(pair.kafka);
  const std::string topic = pair.kafka.topic_prefix + ".schemas";
  kafka::Producer metadata(settings, "modsync-" + pair.daemon.id + "-schemas",
                           [](uint64_t, const kafka::DeliveryResult&) {});
  const int partitions = metadata.partition_count(topic, std::chrono::seconds(10));
  std::map<kafka::Partition, kafka::Offset> end;
  std::vector<kafka::TopicPartitionOffset> start;
  for (int p = 0; p < partitions; ++p) {
    const auto [low, high] =
        metadata.watermarks(topic, kafka::Partition{p}, std::chrono::seconds(10));
    if (high > low) {
      end[kafka::Partition{p}] = high;
      start.push_back({topic, kafka::Partition{p}, low});
    }
  }
  std::optional<std::vector<event::SchemaColumn>> best;
  uint64_t best_version = 0;
  if (start.empty()) return best;
  kafka::ConsumerOptions options;
  options.group_id = "modsync-" + pair.daemon.id + "-schemas";
  kafka::Consumer consumer(settings, options);
  consumer.assign(start);
  simdjson::dom::parser parser;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::vector<kafka::Message> batch;
  while (!end.empty() && std::chrono::steady_clock::now() < deadline) {
    batch.clear();
    consumer.poll_batch(1000, 200, batch);
    for (const auto& m : batch) {
      if (m.offset().next() >= end[m.partition()]) end.erase(m.partition());
      if (!m.has_value()) continue;
      auto schema = event::read_schema_event(parser, m.value());
      if (!schema || schema->module != from.module || schema->schema != from.table.schema ||
          schema->table != from.table.table || schema->version < best_version)
        continue;
      best = std::move(schema->columns);
      best_version = schema->version;
    }
  }
  consumer.close();
  return best;
}

void create_target_table(const config::PairConfig& pair, const config::Projection& projection,
                         pg::PgConnection& conn) {
  if (!projection.from) {
    fail("{}:{}: projection to {}: create_table needs `from` (module.schema.table) to find the "
         "source's schema. Fix: use `from`, or create the table yourself",
         projection.location.file, projection.location.line, projection.to.qualified());
  }
  const auto columns = latest_source_schema(pair, *projection.from);
  if (!columns) {
    fail_retriable("projection to {}: waiting for the schema of {}.{} on topic {}.schemas to "
                   "create the table (the capture publishes it when it first sees the table)",
                   projection.to.qualified(), projection.from->module,
                   projection.from->table.qualified(), pair.kafka.topic_prefix);
  }
  std::string defs, keys;
  auto add = [&](const std::string& target, const event::SchemaColumn& c) {
    const std::string type = target_type(projection, conn, c);
    defs += fmt::format("{}{} {}", defs.empty() ? "" : ", ", conn.quote_ident(target), type);
    if (c.key) keys += (keys.empty() ? "" : ", ") + conn.quote_ident(target);
  };
  for (const auto& c : *columns) {
    if (!projection.columns) {
      add(c.name, c);
      continue;
    }
    for (const auto& m : *projection.columns)
      if (m.source == c.name) add(m.target, c);
  }
  if (!keys.empty()) defs += ", _modsync_lsn pg_lsn NOT NULL, _modsync_seq integer NOT NULL";
  if (!projection.soft_delete_column.empty()) {
    defs += ", " + conn.quote_ident(projection.soft_delete_column) + " timestamptz";
  }
  if (!keys.empty()) defs += ", PRIMARY KEY (" + keys + ")";
  const std::string sql = fmt::format("CREATE TABLE IF NOT EXISTS {}.{} ({})",
                                      conn.quote_ident(projection.to.schema),
                                      conn.quote_ident(projection.to.table), defs);
  conn.exec(sql);
  spdlog::info("projection to {}: created the target table: {}", projection.to.qualified(), sql);
}

}  // namespace modsync::apply
