#include "pair_parser.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "field_rules.hpp"
#include "modsync/common/json_string.hpp"
#include "modsync/common/listen_address.hpp"
#include "sink_parser.hpp"

namespace modsync::config::detail {

namespace {

constexpr std::array<std::string_view, 4> kTopKeys = {"daemon", "kafka", "source", "sink"};
constexpr std::array<std::string_view, 6> kDaemonKeys = {"id",   "state_dir",        "log",
                                                         "http", "shutdown_timeout", "memory"};
constexpr std::array<std::string_view, 2> kDaemonMemoryKeys = {"checkpoint_write_buffer",
                                                               "checkpoint_block_cache"};
constexpr std::array<std::string_view, 2> kLogKeys = {"level", "format"};
constexpr std::array<std::string_view, 1> kHttpKeys = {"listen"};
constexpr std::array<std::string_view, 6> kKafkaKeys = {
    "brokers", "topic_prefix", "properties", "stall_timeout", "envelope", "memory"};
constexpr std::array<std::string_view, 2> kKafkaMemoryKeys = {"consumer_queue", "producer_queue"};
constexpr std::array<std::string_view, 17> kSourceKeys = {"module",
                                                          "dsn",
                                                          "password_file",
                                                          "tables",
                                                          "slot",
                                                          "publication",
                                                          "snapshot",
                                                          "snapshot_chunk_rows",
                                                          "snapshot_workers",
                                                          "topic",
                                                          "transaction_topic",
                                                          "message_prefixes",
                                                          "message_topic",
                                                          "heartbeat_interval",
                                                          "status_interval",
                                                          "tombstones_on_delete",
                                                          "value_mode"};

constexpr std::array<std::string_view, 4> kTableTopicPlaceholders = {"module", "schema", "table",
                                                                     "prefix"};
constexpr std::array<std::string_view, 2> kModuleTopicPlaceholders = {"module", "prefix"};

/// A snapshot chunk is one query result, held in memory whole; a million rows of a wide table
/// are already gigabytes (and the snapshot reader counts rows in an int).
constexpr uint64_t kMaxSnapshotChunkRows = 1'000'000;
/// Each worker is a source connection (max_connections) holding the exported snapshot.
constexpr uint64_t kMaxSnapshotWorkers = 64;
/// librdkafka takes these budgets in KiB, up to 2^31 - 1 of them; a fetch response is at least
/// message.max.bytes (1,000,000 by default), so a smaller queue would not bound it.
constexpr uint64_t kMinKafkaQueue = 1 * kMiB;
constexpr uint64_t kMaxKafkaQueue = 1 * kGiB;

}  // namespace

PairConfig PairParser::parse(const YAML::Node& root) {
  PairConfig pair;
  pair.file = file_;
  const Field top{root, root.Mark(), ""};
  auto map = open_map(r_, top, kTopKeys);
  if (!map) return pair;

  if (auto f = map->require("daemon", "a daemon section", "{ id: <name> }")) {
    parse_daemon(*f, pair.daemon);
  }
  if (auto f = map->require("kafka", "a kafka section", "{ brokers: \"localhost:9092\" }")) {
    parse_kafka(*f, pair.kafka);
  }
  if (auto f = map->get("source")) pair.source = parse_source(*f, pair.daemon);
  if (auto f = map->get("sink")) {
    pair.sink = SinkParser(r_, file_).parse(*f);
    // Replicas of a scale-out sink run the same file; each would capture from the one slot.
    if (pair.source && !pair.sink->group.empty()) {
      r_.error(f->value["group"].Mark(), "sink.group",
               "a pair with a source cannot be scaled out: its replicas would all stream from "
               "slot " + pair.source->slot + ". Fix: move the sink into a file of its own (a "
               "sink-only pair) and set sink.group there (docs/scaling.md)");
    }
  }
  if (!map->get("source") && !map->get("sink")) {
    r_.expected(top.mark, "", "a source section, a sink section or both", "neither",
                "add \"source:\" to capture changes or \"sink:\" to apply them");
  }
  return pair;
}

void PairParser::parse_daemon(const Field& field, DaemonConfig& d) {
  auto map = open_map(r_, field, kDaemonKeys);
  if (!map) return;
  if (auto f = map->require("id", "a daemon id matching [a-z0-9_-]+", "orders-to-shipping")) {
    id_location_ = location_of(r_, *f);
    if (auto v = r_.string(*f)) {
      check(is_daemon_id(*v), *f, "a daemon id matching [a-z0-9_-]+", json_quoted(*v),
            "use only lowercase letters, digits, '_' and '-'");
      d.id = *v;
    }
  }
  if (auto f = map->get("state_dir")) {
    if (auto v = r_.string(*f)) {
      check(!v->empty(), *f, "a directory path", "\"\"",
            "set state_dir to a writable directory, or remove it for /var/lib/modsync");
      d.state_dir = *v;
    }
  }
  if (auto f = map->get("log")) {
    if (auto log = open_map(r_, *f, kLogKeys)) {
      if (auto g = log->get("level")) {
        if (auto v = enum_choice(r_, *g, kLogLevelNames)) d.log.level = *v;
      }
      if (auto g = log->get("format")) {
        if (auto v = enum_choice(r_, *g, kLogFormatNames)) d.log.format = *v;
      }
    }
  }
  if (auto f = map->get("http")) {
    if (auto http = open_map(r_, *f, kHttpKeys)) {
      if (auto g = http->get("listen")) {
        if (auto v = r_.string(*g)) {
          std::string why;
          const auto address = v->empty() ? std::nullopt : parse_listen_address(*v, &why);
          if (!v->empty() && !address) {
            r_.expected(g->mark, g->path, "host:port or [ipv6]:port (or \"\" to disable)",
                        fmt::format("{} ({})", json_quoted(*v), why),
                        "write an address such as \"127.0.0.1:9187\"");
          } else if (address && address->port == 0) {
            // The HTTP server could take any free port, but `modsync status`, probes and
            // scrapers find the daemon by the configured one.
            r_.expected(g->mark, g->path, "a fixed port from 1 to 65535", json_quoted(*v),
                        "choose a port, e.g. \"127.0.0.1:9187\"");
          }
          d.http_listen = *v;
        }
      }
    }
  }
  if (auto f = map->get("shutdown_timeout")) {
    if (auto v = r_.duration(*f, true)) d.shutdown_timeout = *v;
  }
  if (auto f = map->get("memory")) {
    if (auto memory = open_map(r_, *f, kDaemonMemoryKeys)) {
      if (auto g = memory->get("checkpoint_write_buffer")) {
        if (auto v = r_.byte_size(*g, 64 * kKiB, 1 * kGiB)) d.memory.checkpoint_write_buffer = *v;
      }
      if (auto g = memory->get("checkpoint_block_cache")) {
        if (auto v = r_.byte_size(*g, 64 * kKiB, 1 * kGiB)) d.memory.checkpoint_block_cache = *v;
      }
    }
  }
}

void PairParser::parse_kafka(const Field& field, KafkaConfig& k) {
  auto map = open_map(r_, field, kKafkaKeys);
  if (!map) return;
  if (auto f =
          map->require("brokers", "a broker list host:port[,host:port…]", "\"localhost:9092\"")) {
    if (auto v = r_.string(*f)) {
      check(!v->empty(), *f, "a broker list host:port[,host:port…]", "\"\"",
            "set brokers to e.g. \"localhost:9092\"");
      k.brokers = *v;
    }
  }
  if (auto f = map->get("topic_prefix")) {
    if (auto v = r_.string(*f)) {
      check(is_topic_name(*v), *f, "a topic prefix of [A-Za-z0-9._-]", json_quoted(*v),
            "use only letters, digits, '.', '_' and '-'");
      k.topic_prefix = *v;
    }
  }
  if (auto f = map->get("stall_timeout")) {
    if (auto v = r_.duration(*f, false)) k.stall_timeout = *v;
  }
  if (auto f = map->get("envelope")) {
    if (auto v = enum_choice(r_, *f, kKafkaEnvelopeNames)) k.envelope = *v;
  }
  if (auto f = map->get("memory")) {
    if (auto memory = open_map(r_, *f, kKafkaMemoryKeys)) {
      if (auto g = memory->get("consumer_queue")) {
        if (auto v = r_.byte_size(*g, kMinKafkaQueue, kMaxKafkaQueue)) k.memory.consumer_queue = *v;
      }
      if (auto g = memory->get("producer_queue")) {
        if (auto v = r_.byte_size(*g, kMinKafkaQueue, kMaxKafkaQueue)) k.memory.producer_queue = *v;
      }
    }
  }
  if (auto f = map->get("properties")) {
    if (auto props = r_.mapping(*f, {})) {
      for (const auto& [key, g] : *props) {
        if (auto why = owned_kafka_property(key); !why.empty()) {
          r_.expected(g.mark, g.path, "a librdkafka property modsync does not set itself",
                      json_quoted(key), fmt::format("remove it: {}", why));
          continue;
        }
        if (g.value.IsNull()) {
          r_.expected(g.mark, g.path, "a value", "nothing", "give the property a value");
          continue;
        }
        if (auto v = r_.string(g)) k.properties[key] = *v;
      }
    }
  }
}

SourceConfig PairParser::parse_source(const Field& field, const DaemonConfig& daemon) {
  SourceConfig s;
  auto map = open_map(r_, field, kSourceKeys);
  if (!map) return s;
  if (auto v = module_name(*map, "orders")) s.module = *v;
  parse_connection(*map, s.dsn, s.password_file, s.effective_dsn);

  if (auto f = map->require("tables", "a non-empty list of tables", "[public.orders]")) {
    if (auto items = r_.sequence(*f)) {
      if (items->empty()) {
        r_.expected(f->mark, f->path, "a non-empty list of tables", "[]",
                    "list at least one table, e.g. [public.orders]");
      }
      std::map<TableName, std::string> seen;
      for (const Field& item : *items) {
        auto text = r_.string(item);
        if (!text) continue;
        auto name = table_name(item, *text);
        if (!name) continue;
        if (auto [it, inserted] = seen.emplace(*name, item.path); !inserted) {
          r_.expected(item.mark, item.path, "each table once",
                      fmt::format("{} again (already {})", name->qualified(), it->second),
                      "remove the duplicate");
          continue;
        }
        s.tables.push_back(*name);
      }
    }
  }

  std::string default_slot = "modsync_" + daemon.id;
  std::replace(default_slot.begin(), default_slot.end(), '-', '_');
  s.slot = default_slot;
  if (auto f = map->get("slot")) {
    if (auto v = r_.string(*f)) {
      check(is_slot_name(*v), *f, "a slot name matching [a-z0-9_]{1,63}", json_quoted(*v),
            "use only lowercase letters, digits and '_', at most 63 characters");
      s.slot = *v;
    }
  } else if (is_daemon_id(daemon.id) && !is_slot_name(default_slot)) {
    // An invalid id is reported once, under daemon.id, not again through its derived slot.
    r_.expected(field.mark, map->child_path("slot"), "a slot name matching [a-z0-9_]{1,63}",
                fmt::format("the default {} derived from daemon.id", json_quoted(default_slot)),
                "set source.slot explicitly");
  }
  s.publication = s.slot;
  if (auto f = map->get("publication")) {
    if (auto v = r_.string(*f)) {
      check(is_slot_name(*v), *f, "a publication name matching [a-z0-9_]{1,63}", json_quoted(*v),
            "use only lowercase letters, digits and '_', at most 63 characters");
      s.publication = *v;
    }
  }
  if (auto f = map->get("snapshot")) {
    if (auto v = enum_choice(r_, *f, kSnapshotModeNames)) s.snapshot = *v;
  }
  if (auto f = map->get("snapshot_chunk_rows")) {
    if (auto v = r_.positive_integer(*f, kMaxSnapshotChunkRows)) s.snapshot_chunk_rows = *v;
  }
  if (auto f = map->get("snapshot_workers")) {
    if (auto v = r_.positive_integer(*f, kMaxSnapshotWorkers)) s.snapshot_workers = *v;
  }
  if (auto f = map->get("topic")) {
    if (auto v = r_.string(*f)) {
      check_template(*f, *v, kTableTopicPlaceholders);
      s.topic = *v;
    }
  }
  if (auto f = map->get("transaction_topic")) {
    if (auto v = r_.string(*f)) {
      if (!v->empty()) check_template(*f, *v, kModuleTopicPlaceholders);
      s.transaction_topic = *v;
    }
  }
  if (auto f = map->get("message_prefixes")) {
    if (auto items = r_.sequence(*f)) {
      std::vector<std::string> prefixes;
      for (const Field& item : *items) {
        if (auto v = r_.string(item)) {
          check(!v->empty(), item, "a non-empty message prefix", "\"\"",
                "remove the empty entry; leave message_prefixes out to publish every prefix");
          prefixes.push_back(*v);
        }
      }
      s.message_prefixes = std::move(prefixes);
    }
  }
  if (auto f = map->get("message_topic")) {
    if (auto v = r_.string(*f)) {
      check_template(*f, *v, kModuleTopicPlaceholders);
      s.message_topic = *v;
    }
  }
  if (auto f = map->get("heartbeat_interval")) {
    if (auto v = r_.duration(*f, true)) s.heartbeat_interval = *v;
  }
  if (auto f = map->get("status_interval")) {
    if (auto v = r_.duration(*f, false)) s.status_interval = *v;
  }
  if (auto f = map->get("tombstones_on_delete")) {
    if (auto v = r_.boolean(*f)) s.tombstones_on_delete = *v;
  }
  if (auto f = map->get("value_mode")) {
    if (auto v = enum_choice(r_, *f, kValueModeNames)) s.value_mode = *v;
  }
  return s;
}

}  // namespace modsync::config::detail
