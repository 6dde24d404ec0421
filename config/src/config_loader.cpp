#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "modsync/common/json_string.hpp"
#include "modsync/common/listen_address.hpp"
#include "modsync/config/config.hpp"
#include "modsync/config/dsn.hpp"
#include "topic_template.hpp"
#include "yaml_reader.hpp"

namespace modsync::config {

namespace {

using detail::Field;
using detail::MapView;
using detail::YamlReader;

constexpr std::array<std::string_view, 4> kTopKeys = {"daemon", "kafka", "source", "sink"};
constexpr std::array<std::string_view, 5> kDaemonKeys = {"id", "state_dir", "log", "http",
                                                         "shutdown_timeout"};
constexpr std::array<std::string_view, 2> kLogKeys = {"level", "format"};
constexpr std::array<std::string_view, 1> kHttpKeys = {"listen"};
constexpr std::array<std::string_view, 5> kKafkaKeys = {"brokers", "topic_prefix", "properties",
                                                        "stall_timeout", "envelope"};
constexpr std::array<std::string_view, 16> kSourceKeys = {"module",
                                                          "dsn",
                                                          "password_file",
                                                          "tables",
                                                          "slot",
                                                          "publication",
                                                          "snapshot",
                                                          "snapshot_chunk_rows",
                                                          "topic",
                                                          "transaction_topic",
                                                          "message_prefixes",
                                                          "message_topic",
                                                          "heartbeat_interval",
                                                          "status_interval",
                                                          "tombstones_on_delete",
                                                          "value_mode"};
constexpr std::array<std::string_view, 6> kSinkKeys = {"module",     "dsn",        "password_file",
                                                       "batch_rows", "batch_time", "projections"};
constexpr std::array<std::string_view, 11> kProjectionKeys = {"from",         "topic",
                                                              "to",           "columns",
                                                              "where",        "ops",
                                                              "on_delete",    "soft_delete_column",
                                                              "create_table", "unknown_version",
                                                              "versions"};
constexpr std::array<std::string_view, 2> kVersionKeys = {"rename", "defaults"};

constexpr std::array<std::string_view, 4> kTableTopicPlaceholders = {"module", "schema", "table",
                                                                     "prefix"};
constexpr std::array<std::string_view, 2> kModuleTopicPlaceholders = {"module", "prefix"};

constexpr size_t kMaxIdentifier = 63;  // PostgreSQL's NAMEDATALEN - 1

/// A snapshot chunk is one query result, held in memory whole; a million rows of a wide table
/// are already gigabytes (and the snapshot reader counts rows in an int).
constexpr uint64_t kMaxSnapshotChunkRows = 1'000'000;

bool is_lower_digit_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

bool is_daemon_id(std::string_view s) {
  return all_of(s, [](char c) { return is_lower_digit_underscore(c) || c == '-'; });
}

bool is_module_name(std::string_view s) {
  return all_of(s, is_lower_digit_underscore);
}

bool is_slot_name(std::string_view s) {
  return s.size() <= kMaxIdentifier && all_of(s, is_lower_digit_underscore);
}

/// A catalog name as written without quotes: letters, digits, '_' and '$', not starting with a
/// digit or '$'.
bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdentifier) return false;
  if ((s[0] >= '0' && s[0] <= '9') || s[0] == '$') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$';
  });
}

/// A column name as the catalog spells it (what a quoted identifier can hold): 1 to 63 bytes,
/// no NUL, and no ',' (modsync lists column names comma-separated in its stage).
bool is_column_name(std::string_view s) {
  return !s.empty() && s.size() <= kMaxIdentifier && s.find('\0') == std::string_view::npos &&
         s.find(',') == std::string_view::npos;
}

bool is_topic_name(std::string_view s) {
  return !s.empty() && s.size() <= 249 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

/// The names of a table of enum names, for YamlReader::choice.
template <typename Enum, size_t N>
constexpr std::array<std::string_view, N> names_of(const std::array<EnumName<Enum>, N>& names) {
  std::array<std::string_view, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = names[i].name;
  return out;
}

/// Reads `f` as one of the names in `names`; records an error and returns nullopt otherwise.
template <typename Enum, size_t N>
std::optional<Enum> enum_choice(YamlReader& reader, const Field& f,
                                const std::array<EnumName<Enum>, N>& names) {
  const auto choices = names_of(names);
  const auto v = reader.choice(f, choices);
  if (!v) return std::nullopt;
  for (const auto& n : names) {
    if (n.name == *v) return n.value;
  }
  return std::nullopt;
}

Location location_of(const YamlReader& reader, const Field& f) {
  return Location{reader.file(), f.mark.line >= 0 ? f.mark.line + 1 : 0,
                  f.mark.column >= 0 ? f.mark.column + 1 : 0};
}

/// Parses one file; records problems in the reader and returns what could be understood.
class PairParser {
 public:
  PairParser(YamlReader& reader, std::filesystem::path file) : r_(reader), file_(std::move(file)) {}

  PairConfig parse(const YAML::Node& root) {
    PairConfig pair;
    pair.file = file_;
    const Field top{root, root.Mark(), ""};
    auto map = detail::open_map(r_, top, kTopKeys);
    if (!map) return pair;

    if (auto f = map->require("daemon", "a daemon section", "{ id: <name> }")) {
      parse_daemon(*f, pair.daemon);
    }
    if (auto f = map->require("kafka", "a kafka section", "{ brokers: \"localhost:9092\" }")) {
      parse_kafka(*f, pair.kafka);
    }
    if (auto f = map->get("source")) pair.source = parse_source(*f, pair.daemon);
    if (auto f = map->get("sink")) pair.sink = parse_sink(*f);
    if (!map->get("source") && !map->get("sink")) {
      r_.expected(top.mark, "", "a source section, a sink section or both", "neither",
                  "add \"source:\" to capture changes or \"sink:\" to apply them");
    }
    return pair;
  }

  /// Where daemon.id was written, for the directory-wide uniqueness check.
  const Location& id_location() const { return id_location_; }

 private:
  void check(bool ok, const Field& f, std::string_view expected, std::string_view got,
             std::string_view fix) {
    if (!ok) r_.expected(f.mark, f.path, expected, got, fix);
  }

  void parse_daemon(const Field& field, DaemonConfig& d) {
    auto map = detail::open_map(r_, field, kDaemonKeys);
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
      if (auto log = detail::open_map(r_, *f, kLogKeys)) {
        if (auto g = log->get("level")) {
          if (auto v = enum_choice(r_, *g, kLogLevelNames)) d.log.level = *v;
        }
        if (auto g = log->get("format")) {
          if (auto v = enum_choice(r_, *g, kLogFormatNames)) d.log.format = *v;
        }
      }
    }
    if (auto f = map->get("http")) {
      if (auto http = detail::open_map(r_, *f, kHttpKeys)) {
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
  }

  void parse_kafka(const Field& field, KafkaConfig& k) {
    auto map = detail::open_map(r_, field, kKafkaKeys);
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

  /// Reads dsn and password_file into (dsn, password_file, effective_dsn).
  void parse_connection(const MapView& map, std::string& dsn,
                        std::optional<std::filesystem::path>& password_file,
                        EffectiveDsn& effective_dsn) {
    std::optional<Field> dsn_field =
        map.require("dsn", "a libpq connection string or postgresql:// URI",
                    "\"host=localhost dbname=app user=modsync\"");
    if (dsn_field) {
      if (auto v = r_.string(*dsn_field)) {
        // A DSN that does not parse is not quoted at all, not even redacted: without libpq's
        // reading of it nobody can tell which part is the password.
        const std::string problem = dsn_syntax_error(*v);
        check(problem.empty(), *dsn_field,
              "a libpq connection string (key=value …) or postgresql:// URI",
              fmt::format("a DSN libpq cannot parse: {}", problem),
              "write e.g. \"host=db port=5432 dbname=app user=modsync\"");
        dsn = *v;
      }
    }
    effective_dsn = EffectiveDsn{dsn, ""};
    auto f = map.get("password_file");
    if (!f) return;
    auto v = r_.string(*f);
    if (!v) return;
    std::filesystem::path path = *v;
    if (path.is_relative()) path = file_.parent_path() / path;
    password_file = path;
    if (dsn_has_password(dsn)) {
      r_.expected(f->mark, f->path, "a password in either the dsn or password_file", "both",
                  "remove the password from the dsn");
      return;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      r_.expected(f->mark, f->path, "a readable file", json_quoted(path.string()),
                  "create the file or fix the path (relative paths start at the config file's "
                  "folder)");
      return;
    }
    std::stringstream content;
    content << in.rdbuf();
    std::string password = content.str();
    // Secret files usually end with a newline that is not part of the password.
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
      password.pop_back();
    }
    if (password.empty()) {
      r_.expected(f->mark, f->path, "a file holding the password", "an empty file",
                  fmt::format("write the password into {}", path.string()));
      return;
    }
    effective_dsn.password = std::move(password);
  }

  std::optional<std::string> module_name(const MapView& map, std::string_view example) {
    auto f = map.require("module", "a module name matching [a-z0-9_]+", example);
    if (!f) return std::nullopt;
    auto v = r_.string(*f);
    if (!v) return std::nullopt;
    check(is_module_name(*v), *f, "a module name matching [a-z0-9_]+", json_quoted(*v),
          "use only lowercase letters, digits and '_'");
    return v;
  }

  void check_template(const Field& f, const std::string& value,
                      std::span<const std::string_view> allowed) {
    const std::string problem = detail::check_topic_template(value, allowed);
    if (!problem.empty()) r_.error(f.mark, f.path, problem);
  }

  /// "schema.table" or "table" (schema public).
  std::optional<TableName> table_name(const Field& f, const std::string& text) {
    const auto parts = split(text, '.');
    const bool ok = parts.size() <= 2 && std::all_of(parts.begin(), parts.end(), is_identifier);
    if (!ok) {
      r_.expected(f.mark, f.path, "a table as schema.table or table", json_quoted(text),
                  "write e.g. public.orders (names of letters, digits and '_', at most 63 "
                  "characters)");
      return std::nullopt;
    }
    if (parts.size() == 1) return TableName{"public", std::string(parts[0])};
    return TableName{std::string(parts[0]), std::string(parts[1])};
  }

  SourceConfig parse_source(const Field& field, const DaemonConfig& daemon) {
    SourceConfig s;
    auto map = detail::open_map(r_, field, kSourceKeys);
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

  SinkConfig parse_sink(const Field& field) {
    SinkConfig s;
    auto map = detail::open_map(r_, field, kSinkKeys);
    if (!map) return s;
    if (auto v = module_name(*map, "shipping")) s.module = *v;
    parse_connection(*map, s.dsn, s.password_file, s.effective_dsn);
    if (auto f = map->get("batch_rows")) {
      if (auto v = r_.positive_integer(*f)) s.batch_rows = *v;
    }
    if (auto f = map->get("batch_time")) {
      if (auto v = r_.duration(*f, false)) s.batch_time = *v;
    }
    if (auto f = map->require("projections", "a non-empty list of projections",
                              "[{ from: orders.public.orders, to: public.orders }]")) {
      if (auto items = r_.sequence(*f)) {
        if (items->empty()) {
          r_.expected(f->mark, f->path, "a non-empty list of projections", "[]",
                      "add at least one projection with from: and to:");
        }
        // A projection is identified by daemon.id and its target table (its offsets and its
        // truncate marks are keyed so): two projections into one table would share them.
        std::map<TableName, Location> targets;
        for (const Field& item : *items) {
          Projection p = parse_projection(item);
          if (!p.to.table.empty()) {
            auto [it, inserted] = targets.emplace(p.to, p.location);
            if (!inserted) {
              const Location& first = it->second;
              r_.expected(item.mark, item.path + ".to", "each target table once in a sink",
                          fmt::format("{} again (already the target of the projection at {}:{}:{})",
                                      p.to.qualified(), first.file, first.line, first.column),
                          "give each projection its own target table: two projections of one "
                          "daemon into one table share its offsets and truncate marks (keyed by "
                          "daemon.id and table), so one skips events the other applied; a view "
                          "can union several tables");
            }
          }
          s.projections.push_back(std::move(p));
        }
      }
    }
    return s;
  }

  /// A column name; records an error and returns nullopt when invalid.
  std::optional<std::string> column_name(const Field& f) {
    auto v = r_.string(f);
    if (!v) return std::nullopt;
    if (!is_column_name(*v)) {
      r_.expected(f.mark, f.path, "a column name", json_quoted(*v),
                  "write the name as the catalog spells it (case and spaces included, no "
                  "quotes), 1 to 63 bytes, without ','");
      return std::nullopt;
    }
    return v;
  }

  void parse_columns(const Field& f, Projection& p) {
    std::vector<ColumnMapping> columns;
    std::set<std::string> sources, targets;
    auto add = [&](const Field& at, const std::string& source, const std::string& target) {
      if (!sources.insert(source).second) {
        r_.expected(at.mark, at.path, "each source column once", json_quoted(source),
                    "remove the duplicate");
      } else if (!targets.insert(target).second) {
        r_.expected(at.mark, at.path, "each target column once",
                    fmt::format("{} as a target again", json_quoted(target)),
                    "map each target column from one source column only");
      } else {
        columns.push_back({source, target});
      }
    };
    if (f.value.IsSequence()) {
      auto items = r_.sequence(f);
      for (const Field& item : *items) {
        if (auto name = column_name(item)) add(item, *name, *name);
      }
    } else if (f.value.IsMap()) {
      auto entries = r_.mapping(f, {});
      for (const auto& [source, target] : *entries) {
        if (!is_column_name(source)) {
          r_.expected(target.mark, target.path, "a source column name", json_quoted(source),
                      "write the name as the catalog spells it (case and spaces included, no "
                      "quotes), 1 to 63 bytes, without ','");
          continue;
        }
        if (target.value.IsNull()) {
          r_.expected(target.mark, target.path, "a target column name", "nothing",
                      fmt::format("write \"{0}: {0}\" to keep the name", source));
          continue;
        }
        if (auto name = column_name(target)) add(target, source, *name);
      }
    } else {
      r_.expected(f.mark, f.path, "a mapping source: target or a list of columns",
                  detail::describe_node(f.value),
                  "write { id: order_id } to rename or [id, total] to keep names");
      return;
    }
    if (columns.empty() && sources.empty()) {
      r_.expected(f.mark, f.path, "at least one column", "none",
                  "list the columns, or remove columns to copy all of them");
    }
    p.columns = std::move(columns);
  }

  void parse_versions(const Field& f, Projection& p) {
    auto entries = r_.mapping(f, {});
    if (!entries) return;
    for (const auto& [key, g] : *entries) {
      uint32_t version = 0;
      const auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), version);
      if (ec != std::errc{} || ptr != key.data() + key.size() || version == 0) {
        r_.expected(g.mark, g.path, "a schema version number (1, 2, …) as key", json_quoted(key),
                    "key each entry by the event schema version it applies to");
        continue;
      }
      auto rule_map = detail::open_map(r_, g, kVersionKeys);
      if (!rule_map) continue;
      VersionRule rule;
      if (auto h = rule_map->get("rename")) {
        if (auto renames = r_.mapping(*h, {})) {
          for (const auto& [from, to] : *renames) {
            if (auto name = column_name(to)) rule.rename[from] = *name;
          }
        }
      }
      if (auto h = rule_map->get("defaults")) {
        if (auto defaults = r_.mapping(*h, {})) {
          for (const auto& [column, value] : *defaults) {
            if (auto v = r_.string(value)) rule.defaults[column] = *v;
          }
        }
      }
      p.versions[version] = std::move(rule);
    }
  }

  Projection parse_projection(const Field& field) {
    Projection p;
    p.location = location_of(r_, field);
    auto map = detail::open_map(r_, field, kProjectionKeys);
    if (!map) return p;
    auto from = map->get("from");
    auto topic = map->get("topic");
    if (topic) {
      if (auto v = r_.string(*topic)) {
        if (!v->empty()) {
          check(is_topic_name(*v), *topic, "a Kafka topic name of [A-Za-z0-9._-]", json_quoted(*v),
                "use only letters, digits, '.', '_' and '-'");
        }
        p.topic = *v;
      }
    }
    if (from) {
      if (auto v = r_.string(*from)) {
        const auto parts = split(*v, '.');
        if (parts.size() == 3 && is_module_name(parts[0]) && is_identifier(parts[1]) &&
            is_identifier(parts[2])) {
          p.from = SourceTable{std::string(parts[0]),
                               TableName{std::string(parts[1]), std::string(parts[2])}};
        } else {
          r_.expected(from->mark, from->path, "module.schema.table", json_quoted(*v),
                      "write e.g. orders.public.orders");
        }
      }
    }
    const bool has_from = from.has_value();
    const bool has_topic = !p.topic.empty();
    if (has_from && has_topic) {
      r_.expected(topic->mark, topic->path, "either from or topic", "both",
                  "keep from: to read the table's topic, or topic: to name it, not both");
    } else if (!has_from && !has_topic) {
      r_.expected(field.mark, map->child_path("from"),
                  "from: module.schema.table or topic:", "neither",
                  "add \"from: <module>.<schema>.<table>\"");
    }

    if (auto f = map->require("to", "a target table as schema.table", "public.orders")) {
      if (auto v = r_.string(*f)) {
        if (auto name = table_name(*f, *v)) p.to = *name;
      }
    }
    if (auto f = map->get("columns")) parse_columns(*f, p);
    if (auto f = map->get("where")) {
      if (auto v = r_.string(*f)) p.where = *v;
    }
    if (auto f = map->get("ops")) {
      if (auto items = r_.sequence(*f)) {
        std::vector<Op> ops;
        for (const Field& item : *items) {
          const auto op = enum_choice(r_, item, kOpNames);
          if (!op) continue;
          if (std::find(ops.begin(), ops.end(), *op) != ops.end()) {
            r_.expected(item.mark, item.path, "each operation once", json_quoted(to_string(*op)),
                        "remove the duplicate");
            continue;
          }
          ops.push_back(*op);
        }
        if (items->empty()) {
          r_.expected(f->mark, f->path, "at least one of c, u, d, r, t", "[]",
                      "list the operations to apply, or remove ops to apply all");
        }
        p.ops = std::move(ops);
      }
    }
    std::optional<Field> on_delete = map->get("on_delete");
    if (on_delete) {
      if (auto v = enum_choice(r_, *on_delete, kOnDeleteNames)) p.on_delete = *v;
    }
    if (auto f = map->get("soft_delete_column")) {
      if (auto name = column_name(*f)) {
        p.soft_delete_column = *name;
        check(p.on_delete == OnDelete::kSoft, *f, "soft_delete_column only with on_delete: soft",
              fmt::format("on_delete: {}", to_string(p.on_delete)),
              "set on_delete: soft, or remove soft_delete_column");
      }
    } else if (p.on_delete == OnDelete::kSoft) {
      r_.expected(on_delete->mark, map->child_path("soft_delete_column"),
                  "a soft_delete_column with on_delete: soft", "nothing",
                  "add \"soft_delete_column: deleted_at\" (a timestamp column of the target)");
    }
    if (auto f = map->get("create_table")) {
      if (auto v = r_.boolean(*f)) p.create_table = *v;
    }
    if (auto f = map->get("unknown_version")) {
      if (auto v = enum_choice(r_, *f, kUnknownVersionNames)) p.unknown_version = *v;
    }
    if (auto f = map->get("versions")) parse_versions(*f, p);
    return p;
  }

  YamlReader& r_;
  std::filesystem::path file_;
  Location id_location_;
};

struct Parsed {
  PairConfig pair;
  Location id_location;
};

/// Remembers where a document's first node starts; ignores everything else.
class FirstMark : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> mark;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { see(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { see(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    see(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    see(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    see(m);
  }
  void OnMapEnd() override {}

 private:
  void see(const YAML::Mark& m) {
    if (!mark) mark = m;
  }
};

struct Documents {
  YAML::Node first;
  std::optional<YAML::Mark> second;  ///< where a second document starts, if there is one
};

/// The file's first document, and whether a second follows. Not YAML::LoadAll: yaml-cpp 0.7
/// (Debian 12) returns a null document without consuming anything for a document that starts
/// with ',' (jbeder/yaml-cpp#1040, fixed upstream by #1319), so LoadAll of "," never returns
/// and fills memory. Here the parser is asked for two documents at most. Throws
/// YAML::Exception on a syntax error.
Documents load_documents(const std::string& content) {
  Documents docs;
  docs.first = YAML::Load(content);
  std::istringstream in(content);
  YAML::Parser parser(in);
  FirstMark first, second;
  if (parser.HandleNextDocument(first) && parser.HandleNextDocument(second)) {
    docs.second = second.mark.value_or(YAML::Mark());
  }
  return docs;
}

/// Whether `content` holds nothing but blanks and comments.
bool blank_yaml(std::string_view content) {
  bool comment = false;
  for (char c : content) {
    if (c == '\n') comment = false;
    else if (c == '#') comment = true;
    else if (!comment && c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

/// Parses one file, appending its problems to `out`.
Parsed parse_file(const std::filesystem::path& file, const EnvLookup& env,
                  std::vector<Diagnostic>& out) {
  Parsed parsed;
  parsed.pair.file = file;
  const std::string name = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    out.push_back(Diagnostic{name, 0, 0, "",
                             "expected a readable configuration file; got none. Fix: check the "
                             "path and its permissions."});
    return parsed;
  }
  std::stringstream content;
  content << in.rdbuf();
  Documents docs;
  try {
    docs = load_documents(content.str());
  } catch (const YAML::Exception& e) {
    out.push_back(Diagnostic{name, e.mark.line + 1, e.mark.column + 1, "",
                             fmt::format("expected valid YAML; got a syntax error ({}). Fix: "
                                         "correct the YAML at this position.",
                                         e.msg)});
    return parsed;
  }
  YamlReader reader(name, env, out);
  if (!docs.first || docs.first.IsNull()) {
    out.push_back(Diagnostic{
        name, 0, 0, "",
        fmt::format("expected a module pair with daemon, kafka and source or sink; got {}. Fix: "
                    "start from config/examples/capture-only.yaml.",
                    blank_yaml(content.str()) ? "an empty file"
                                              : "a document that reads as empty (null)")});
    return parsed;
  }
  if (docs.second) {
    reader.expected(*docs.second, "", "one YAML document per file", "a second document",
                    "move each module pair into its own file");
  }
  const size_t first = out.size();
  PairParser parser(reader, file);
  parsed.pair = parser.parse(docs.first);
  parsed.id_location = parser.id_location();
  // Keys are checked before values, so sort to present problems in reading order.
  std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                   });
  return parsed;
}

bool is_config_file(const std::filesystem::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  const std::string ext = entry.path().extension().string();
  return entry.is_regular_file() && !name.starts_with(".") && (ext == ".yaml" || ext == ".yml");
}

}  // namespace

PairConfig load_file(const std::filesystem::path& file, const EnvLookup& env) {
  std::vector<Diagnostic> diagnostics;
  Parsed parsed = parse_file(file, env, diagnostics);
  if (!diagnostics.empty()) throw ConfigError(std::move(diagnostics));
  return std::move(parsed.pair);
}

std::vector<PairConfig> load_path(const std::filesystem::path& path, const EnvLookup& env) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return {load_file(path, env)};

  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (is_config_file(entry)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.filename() < b.filename(); });
  std::vector<Diagnostic> diagnostics;
  if (ec) {
    diagnostics.push_back(Diagnostic{path.string(), 0, 0, "",
                                     fmt::format("expected a readable directory; got an error "
                                                 "({}). Fix: check its permissions.",
                                                 ec.message())});
    throw ConfigError(std::move(diagnostics));
  }
  if (files.empty()) {
    diagnostics.push_back(Diagnostic{path.string(), 0, 0, "",
                                     "expected at least one *.yaml or *.yml file; got none. Fix: "
                                     "add a configuration file or pass a file path."});
    throw ConfigError(std::move(diagnostics));
  }
  std::vector<PairConfig> pairs;
  std::map<std::string, Location> ids;
  for (const auto& file : files) {
    Parsed parsed = parse_file(file, env, diagnostics);
    const std::string& id = parsed.pair.daemon.id;
    if (!id.empty()) {
      auto [it, inserted] = ids.emplace(id, parsed.id_location);
      if (!inserted) {
        const Location& first = it->second;
        diagnostics.push_back(Diagnostic{
            parsed.id_location.file, parsed.id_location.line, parsed.id_location.column,
            "daemon.id",
            fmt::format("expected an id unique across {}; got {}, already used by {}:{}:{}. Fix: "
                        "give each file its own daemon.id.",
                        path.string(), json_quoted(id), first.file, first.line, first.column)});
      }
    }
    pairs.push_back(std::move(parsed.pair));
  }
  if (!diagnostics.empty()) throw ConfigError(std::move(diagnostics));
  return pairs;
}

}  // namespace modsync::config
