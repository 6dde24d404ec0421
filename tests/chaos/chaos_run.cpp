#include "chaos_run.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "faults.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/dev_broker_process.hpp"
#include "modsync/testing/eventually.hpp"
#include "modsync/testing/pg_cluster.hpp"
#include "modsync/testing/temp_dir.hpp"
#include "readiness.hpp"
#include "workload.hpp"

namespace modsync::chaos {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ChildProcess;

std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string create_table_sql(const Table& t) {
  std::string cols;
  for (const auto& c : t.columns) {
    cols += fmt::format("{}{} {}{}", cols.empty() ? "" : ", ", quote_ident(c.name),
                        sql_type(c.type), c.not_null || c.key ? " NOT NULL" : "");
  }
  std::string keys;
  for (const Column* k : t.keys()) keys += (keys.empty() ? "" : ", ") + quote_ident(k->name);
  if (!keys.empty()) cols += ", PRIMARY KEY (" + keys + ")";
  std::string sql = fmt::format("CREATE TABLE public.{} ({})", quote_ident(t.name), cols);
  if (t.kind == TableKind::kPartitioned) {
    sql += fmt::format(" PARTITION BY RANGE ({});", keys);
    sql += fmt::format(
        "CREATE TABLE public.{0}_a PARTITION OF public.{0} FOR VALUES FROM (MINVALUE) TO (300);"
        "CREATE TABLE public.{0}_b PARTITION OF public.{0} FOR VALUES FROM (300) TO (1500);"
        "CREATE TABLE public.{0}_c PARTITION OF public.{0} FOR VALUES FROM (1500) TO (MAXVALUE)",
        t.name);
  }
  sql += ";";
  if (t.replica_full())
    sql += fmt::format("ALTER TABLE public.{} REPLICA IDENTITY FULL;", quote_ident(t.name));
  for (const auto& c : t.columns) {
    if (c.type != ColType::kBigText || t.kind == TableKind::kPartitioned) continue;
    // Out of line and uncompressed: every large value is a real TOAST pointer.
    sql += fmt::format("ALTER TABLE public.{} ALTER COLUMN {} SET STORAGE EXTERNAL;",
                       quote_ident(t.name), quote_ident(c.name));
  }
  return sql;
}

std::string target_table_sql(const Table& t, const Projection& p) {
  std::string cols, keys;
  for (const auto& [from, to] : p.columns) {
    const Column& c = *t.find(from);
    cols += fmt::format("{}{} {}", cols.empty() ? "" : ", ", quote_ident(to), sql_type(c.type));
    if (c.key && !p.append_only) keys += (keys.empty() ? "" : ", ") + quote_ident(to);
  }
  cols += ", _modsync_lsn pg_lsn, _modsync_seq integer";
  if (p.on_delete == OnDelete::kSoft) cols += ", deleted_at timestamptz";
  if (!keys.empty()) cols += ", PRIMARY KEY (" + keys + ")";
  std::string sql = fmt::format("CREATE TABLE public.{} ({});", quote_ident(p.target), cols);
  if (p.append_only) {
    sql += fmt::format("CREATE INDEX ON public.{} (_modsync_lsn, _modsync_seq);",
                       quote_ident(p.target));
  }
  return sql;
}

std::string projection_yaml(const Scenario& s, const Projection& p) {
  const Table& t = s.tables[static_cast<size_t>(p.table)];
  std::string cols;
  for (const auto& [from, to] : p.columns)
    cols += fmt::format("{}{}: {}", cols.empty() ? "" : ", ", yaml_quote(from), yaml_quote(to));
  std::string ops;
  for (char c : p.ops) ops += fmt::format("{}{}", ops.empty() ? "" : ", ", c);
  std::string out = fmt::format(
      "    - from: shop.public.{}\n      to: public.{}\n      columns: {{ {} }}\n      ops: [{}]\n",
      t.name, p.target, cols, ops);
  if (!p.where.empty()) out += "      where: " + yaml_quote(p.where) + "\n";
  if (p.on_delete == OnDelete::kSoft)
    out += "      on_delete: soft\n      soft_delete_column: deleted_at\n";
  if (p.on_delete == OnDelete::kIgnore) out += "      on_delete: ignore\n";
  if (p.create_table) out += "      create_table: true\n";
  return out;
}

/// A daemon under test: `modsync run --config DIR`, restarted by the faults. Each start's
/// output goes to its own folder (`<name>-NNN`), kept for the report.
class Daemon {
 public:
  Daemon(std::string name, std::string binary, std::filesystem::path config,
         std::filesystem::path logs)
      : name_(std::move(name)),
        binary_(std::move(binary)),
        config_(std::move(config)),
        logs_(std::move(logs)) {}

  void start() {
    ChildProcess::Options o;
    o.output_dir = logs_ / fmt::format("{}-{:03}", name_, ++starts_);
    std::filesystem::create_directories(o.output_dir);
    child_.emplace(std::vector<std::string>{binary_, "run", "--config", config_.string()}, o);
    start_times_.push_back(Clock::now());
  }
  const std::string& name() const { return name_; }
  const std::vector<Clock::time_point>& start_times() const { return start_times_; }
  ChildProcess& child() { return *child_; }
  int starts() const { return starts_; }
  bool running() { return child_ && child_->running(); }
  std::string tail(size_t bytes = 1500) const {
    const std::string err = child_ ? child_->stderr_text() : "";
    return err.size() > bytes ? err.substr(err.size() - bytes) : err;
  }

 private:
  std::string name_, binary_;
  std::filesystem::path config_, logs_;
  std::optional<ChildProcess> child_;
  int starts_ = 0;
  std::vector<Clock::time_point> start_times_;
};

/// One process of the run with the watch on its endpoint: the only daemon, or with several
/// processes (`processes`) the capture (member 0) and the apply replicas.
struct Member {
  Member(std::string name, const std::string& binary, const std::filesystem::path& config,
         const std::filesystem::path& logs, int port)
      : daemon(std::move(name), binary, config, logs), http_port(port) {}
  Daemon daemon;
  int http_port;
  std::unique_ptr<ReadinessWatch> watch;
  /// Killed on purpose and down until then (a replica kept down past its session timeout).
  std::optional<Clock::time_point> restart_at;
  /// When it was down on purpose (killed or stopped until restarted): it saw no outage then.
  std::vector<std::pair<Clock::time_point, Clock::time_point>> downs;
  std::optional<Clock::time_point> down_since;
  void start() {
    if (down_since) downs.emplace_back(*down_since, Clock::now());
    down_since.reset();
    restart_at.reset();
    daemon.start();
  }
  bool down_during(Clock::time_point from, Clock::time_point to) const {
    return std::any_of(downs.begin(), downs.end(),
                       [&](const auto& d) { return d.first <= to && d.second >= from; });
  }
};

// Whether the process has SIGHUP and SIGTERM blocked (its main thread's SigBlk in /proc).
bool signals_blocked(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("SigBlk:", 0) != 0) continue;
    const uint64_t mask = std::stoull(line.substr(7), nullptr, 16);
    const uint64_t want = (1ULL << (SIGHUP - 1)) | (1ULL << (SIGTERM - 1));
    return (mask & want) == want;
  }
  return false;
}

// When a SIGHUP or SIGTERM may go out after a (re)start. Without early-signal: after the first
// log line. With it: as soon as main() has blocked the signals, which is the earliest a signal
// can be handled; before that (the dynamic loader and static initialisers, measured 3–10 ms on
// the 2-core host) its default action ends the process: a residual window no code in main()
// can close (docs/testing.md, chaos-findings F5).
void await_signal_window(ChildProcess& child, bool early) {
  if (!early) {
    child.wait_for_output("level=", 10s);
    return;
  }
  const auto deadline = Clock::now() + 10s;
  for (int i = 0; Clock::now() < deadline; ++i) {
    if (!child.running() || signals_blocked(child.pid())) return;
    // While the daemon waits in sigtimedwait() its mask shows the waited signals unblocked; one
    // that has logged is past main() all the same.
    if (i % 50 == 0 && child.wait_for_output("level=", 0ms)) return;
    std::this_thread::sleep_for(1ms);
  }
}

}  // namespace

std::string RunResult::summary() const {
  return fmt::format(
      "chaos seed={} {} kills={} faults={} outages_shown={} rows_compared={} missing={} extra={} "
      "different={} "
      "duplicated={} kafka_changes={} kafka_missing={} kafka_extra={} kafka_resent={} "
      "kafka_unverifiable={} kafka_covered={} problems={}",
      seed, ok ? "PASS" : "FAIL", kills, faults, outages_checked, rows_compared, missing, extra,
      different, duplicated, kafka_changes, kafka_missing, kafka_extra, kafka_resent,
      kafka_unverifiable, kafka_covered, problems.size());
}

RunResult run_chaos(const RunOptions& o) {
  RunResult result;
  result.seed = o.seed;
  const Scenario sc = Scenario::generate(o.seed, o.features);
  Rng fault_rng(o.seed ^ 0x5eedfa17ULL);
  const std::vector<Fault> faults = schedule(o, sc.apply_replicas, fault_rng);
  // The dev broker does not check idempotent producers' sequence numbers: with two Produce
  // requests in flight, a failed first one and a successful second make librdkafka report the
  // first one's messages delivered, though the mock never stored them (docs/dev-broker.md,
  // "Produce errors lose pipelined messages"; chaos finding F6). A real broker rejects the second
  // request instead. So a run that injects Produce errors keeps one request in flight, and the
  // others run with the default pipelining.
  const bool produce_errors = std::any_of(faults.begin(), faults.end(), [](const Fault& f) {
    return f.extra.rfind("request-errors Produce", 0) == 0;
  });
  const auto t_start = Clock::now();
  auto log = [&](const std::string& line) {
    const double t = std::chrono::duration<double>(Clock::now() - t_start).count();
    fmt::print("[chaos {} {:6.1f}s] {}\n", o.seed, t, line);
    std::fflush(stdout);
  };
  log(fmt::format(
      "seed {} (replay: --seed {} --duration {} --kills {} --features {}); "
      "chunk rows {}, batch rows {}, batch time {}ms, sink workers {}{}",
      o.seed, o.seed, o.duration_s, o.kills, o.features.to_string(), sc.snapshot_chunk_rows,
      sc.batch_rows, sc.batch_time_ms, sc.sink_workers,
      sc.apply_replicas ? fmt::format(", apply processes {} (sink.group)", sc.apply_replicas)
                        : ""));
  for (const auto& p : sc.projections)
    log("projection " + p.describe(sc.tables[static_cast<size_t>(p.table)]));

  testing::TempDir dir("modsync-chaos");
  const auto logs = dir / "logs";
  std::filesystem::create_directories(logs);
  testing::PgCluster src;
  testing::PgCluster sub;
  src.create_database("shop");
  sub.create_database("ship");
  testing::DevBrokerProcess::Options bo;
  bo.binary = o.binary;
  bo.control = true;
  bo.partitions = 4;
  for (const auto& t : sc.tables) bo.topics.emplace_back(t.topic(), t.topic_partitions);
  testing::DevBrokerProcess broker(bo);

  std::string ddl;
  for (const auto& t : sc.tables) ddl += create_table_sql(t);
  src.exec("shop", ddl);
  src.exec("shop", audit_setup_sql(sc));
  std::vector<std::unique_ptr<Workload>> writers;
  for (int w = 0; w < (o.features.has("concurrent") ? 3 : 1); ++w) {
    writers.push_back(std::make_unique<Workload>(
        sc, src.dsn("shop"), (o.seed ^ 0x3017c0adULL) + static_cast<uint64_t>(w),
        1 + w * int64_t{1000000}));
  }
  writers[0]->seed();
  // The seed rows reach Kafka as snapshot rows, not as changes: the change audit starts now
  // (chaos.ins_* keeps them, for the append-only oracle).
  src.exec("shop", "TRUNCATE chaos.audit");
  // The oracle's own decoding of the source: each transaction's commit LSN (check_kafka).
  src.exec("shop", fmt::format("SELECT pg_create_logical_replication_slot('{}', 'test_decoding')",
                               kOracleSlot));
  for (const auto& p : sc.projections) {
    if (!p.create_table)
      sub.exec("ship", target_table_sql(sc.tables[static_cast<size_t>(p.table)], p));
  }

  // The daemons: one running every pair or, with several processes, a capture-only one and
  // `apply_replicas` sink-only ones sharing the projections through consumer groups (the same
  // files but for their state directory and endpoint, docs/scaling.md). Each serves HTTP for
  // its readiness watch; a stall shows after 1 s (a broker pause lasts 0.5-3 s).
  const bool several = sc.apply_replicas > 0;
  const auto config_root = dir / "config";
  enum class Role { kBoth, kCapture, kApply };
  std::vector<std::unique_ptr<Member>> members;
  std::vector<Role> roles;
  int pairs = 0;
  auto add_member = [&](const std::string& name, Role role) {
    const auto config_dir = several ? config_root / name : config_root;
    std::filesystem::create_directories(config_dir);
    const int http_port = testing::free_port();
    const auto state = several ? dir / ("state-" + name) : dir / "state";
    for (int pair = 0; pair < 2; ++pair) {
      std::string tables, projections;
      for (const auto& t : sc.tables) {
        if (t.pair == pair) tables += (tables.empty() ? "" : ", ") + t.name;
      }
      if (tables.empty()) continue;
      if (role != Role::kApply && members.empty()) ++pairs;
      for (const auto& p : sc.projections) {
        if (sc.tables[static_cast<size_t>(p.table)].pair == pair)
          projections += projection_yaml(sc, p);
      }
      const std::string id = pair == 0 ? "chaos" : "chaosa";
      std::string properties;
      if (produce_errors && role != Role::kApply)
        properties = "max.in.flight.requests.per.connection: 1";
      if (role == Role::kApply)
        properties = fmt::format("session.timeout.ms: {}", kReplicaSessionTimeoutMs);
      std::string text = fmt::format(
          "daemon:\n  id: {}\n  state_dir: {}\n  http: {{ listen: \"127.0.0.1:{}\" }}\n"
          "  shutdown_timeout: 10s\n"
          "kafka:\n  brokers: {}\n  topic_prefix: {}\n  stall_timeout: 1s\n",
          id, yaml_quote(state.string()), http_port, yaml_quote(broker.bootstrap()), id);
      if (!properties.empty()) text += "  properties: { " + properties + " }\n";
      if (role != Role::kApply) {
        text += fmt::format(
            "source:\n  module: shop\n  dsn: {}\n  tables: [{}]\n  snapshot: {}\n  "
            "snapshot_chunk_rows: {}\n  heartbeat_interval: 1s\n",
            yaml_quote(src.dsn("shop")), tables, pair == 0 ? "initial" : "never",
            sc.snapshot_chunk_rows);
      }
      if (role != Role::kCapture) {
        text += fmt::format(
            "sink:\n  module: ship\n  dsn: {}\n  batch_rows: {}\n  batch_time: {}ms\n  "
            "workers: {}\n{}  projections:\n{}",
            yaml_quote(sub.dsn("ship")), sc.batch_rows, sc.batch_time_ms, sc.sink_workers,
            role == Role::kApply ? "  group: " + id + "\n" : "", projections);
      }
      std::ofstream(config_dir / (id + ".yaml")) << text;
    }
    members.push_back(std::make_unique<Member>(name, o.binary, config_dir, logs, http_port));
    roles.push_back(role);
  };
  if (several) {
    add_member("capture", Role::kCapture);
    for (int r = 1; r <= sc.apply_replicas; ++r)
      add_member(fmt::format("apply-{}", r), Role::kApply);
  } else {
    add_member("daemon", Role::kBoth);
  }
  Daemon& capture = members[0]->daemon;
  for (auto& m : members) m->daemon.start();
  if (!testing::eventually(
          [&] {
            return std::stoi(src.query_value(
                       "shop",
                       fmt::format(
                           "SELECT count(*) FROM pg_replication_slots WHERE slot_name <> '{}'",
                           kOracleSlot))) == pairs;
          },
          60s, 100ms)) {
    throw std::runtime_error("modsync created no replication slot within 60 s: " +
                             capture.child().describe());
  }

  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  // A fixture error thrown while the writers run stops and joins them on the way out: a
  // joinable std::thread destroyed by the unwinding called std::terminate, and the run died of
  // SIGABRT without the error (seed 33 --kills 20).
  struct JoinWriters {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~JoinWriters() {
      stop = true;
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_writers{stop, workers};
  for (auto& w : writers) workers.emplace_back([&stop, &w] { w->run(stop); });
  const auto t0 = Clock::now();
  std::vector<std::string> executed;
  auto note = [&](const std::string& what) {
    executed.push_back(what);
    log(what);
  };
  auto problem = [&](const std::string& what) {
    result.problems.push_back(what);
    log("PROBLEM: " + what);
  };
  // A member killed on purpose comes back when its time is up; any other that is not running
  // exited on its own.
  auto up = [&](Member& m) { m.start(); };
  // The dev broker is the fixture: when it dies the run cannot go on, and the error names its
  // last words (librdkafka 2.0.2's mock aborts on a JoinGroup from a member whose earlier
  // request it still holds: docs/dev-broker.md).
  auto broker_alive = [&] {
    if (broker.process().running()) return;
    const auto tail = broker.process().stderr_text();
    throw std::runtime_error(fmt::format("the dev broker exited (status {}): …{}",
                                         broker.process().wait(0ms).value_or(-1),
                                         tail.substr(tail.size() > 600 ? tail.size() - 600 : 0)));
  };
  auto control = [&](const std::string& command) {
    try {
      return broker.control(command);
    } catch (const std::exception&) {
      broker_alive();
      throw;
    }
  };
  auto check_alive = [&] {
    broker_alive();
    for (auto& m : members) {
      if (m->restart_at) {
        if (Clock::now() >= *m->restart_at) {
          note(fmt::format("  {} restarted [start #{}]", m->daemon.name(), m->daemon.starts() + 1));
          up(*m);
        }
        continue;
      }
      if (!m->daemon.running()) {
        problem(fmt::format("{} exited on its own (status {}): …{}",
                            several ? m->daemon.name() : "the daemon",
                            m->daemon.child().wait(0ms).value_or(-1), m->daemon.tail()));
        up(*m);
      }
    }
  };
  auto sleep_watching = [&](Clock::time_point until) {
    while (Clock::now() < until) {
      check_alive();
      std::this_thread::sleep_for(std::min<Clock::duration>(100ms, until - Clock::now()));
    }
  };
  for (auto& m : members) m->watch = std::make_unique<ReadinessWatch>(m->http_port);
  // An outage must show on a daemon that sees the server: the capture's source, the sinks'
  // subscriber, either for the broker.
  struct SeenOutage {
    Outage outage;
    std::optional<Role> side;  ///< the role that must show it; none: any daemon
  };
  std::vector<SeenOutage> outages;
  auto outage = [&](const Fault& f, Clock::time_point began, std::vector<std::string> expect,
                    std::optional<Role> side) {
    outages.push_back({Outage{f.describe(), began, Clock::now(), std::move(expect)}, side});
  };
  bool broker_stopped = false;
  for (const Fault& f : faults) {
    sleep_watching(t0 + std::chrono::milliseconds(f.at_ms));
    if (!o.features.has("snapshot-kill") && capture.starts() == 1 && result.faults == 0) {
      // Faults wait until the first snapshot is done: kills during it hit open defects.
      for (const auto& t : sc.tables) {
        if (t.pair != 0) continue;
        capture.child().wait_for_output(fmt::format("snapshot of public.{} read", t.name), 60s);
      }
    }
    ++result.faults;
    Member& target = *members[static_cast<size_t>(f.target)];
    Daemon& daemon = target.daemon;
    if ((f.kind == "kill" || f.kind == "term" || f.kind == "hup") && target.restart_at) {
      // Still down from an earlier kill: it comes back now, to be hit at once.
      up(target);
    }
    note(f.describe() + fmt::format(" [{} start #{}]", daemon.name(), daemon.starts()));
    const auto began = Clock::now();
    if (f.kind == "kill" || f.kind == "term") target.down_since = Clock::now();
    if (f.kind == "kill") {
      ++result.kills;
      daemon.child().kill();
      daemon.child().wait(5s);
      if (f.target > 0) {
        // A replica comes back while the run goes on (sleep_watching): the others keep
        // applying, and take its partitions over when it stays down past its session timeout.
        target.restart_at = Clock::now() + std::chrono::milliseconds(f.param);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(f.param));
        target.start();
      }
    } else if (f.kind == "term") {
      await_signal_window(daemon.child(), o.features.has("early-signal"));
      daemon.child().signal(SIGTERM);
      const auto status = daemon.child().wait(20s);
      if (!status) {
        problem(fmt::format("SIGTERM did not stop {} within 20 s (shutdown_timeout 10s): …{}",
                            several ? daemon.name() : "the daemon", daemon.tail()));
        daemon.child().kill();
        daemon.child().wait(5s);
      } else if (*status != 0) {
        problem(fmt::format("{} exited {} after SIGTERM: …{}",
                            several ? daemon.name() : "the daemon", *status, daemon.tail()));
      }
      target.start();
    } else if (f.kind == "hup") {
      await_signal_window(daemon.child(), o.features.has("early-signal"));
      daemon.child().signal(SIGHUP);
    } else if (f.kind == "broker-pause") {
      broker.process().signal(SIGSTOP);
      broker_stopped = true;
      sleep_watching(Clock::now() + std::chrono::milliseconds(f.param));
      broker.process().signal(SIGCONT);
      broker_stopped = false;
      // A stall shows after kafka.stall_timeout (1 s) of waiting: shorter pauses may pass unseen.
      if (f.param >= 2000) outage(f, began, {"stalled", "retrying", "failed"}, std::nullopt);
    } else if (f.kind == "broker-errors") {
      const std::string reply = control(f.extra);
      if (reply != "ok") problem("dev broker control: " + f.extra + ": " + reply);
    } else if (f.kind == "broker-down") {
      control("broker-down 1");
      sleep_watching(Clock::now() + std::chrono::milliseconds(f.param));
      control("broker-up 1");
      if (f.param >= 2000) outage(f, began, {"stalled", "retrying", "failed"}, std::nullopt);
    } else if (f.kind == "sub-restart") {
      sub.restart(f.param ? testing::PgCluster::StopMode::kImmediate
                          : testing::PgCluster::StopMode::kFast);
      outage(f, began, {" projection "}, Role::kApply);
    } else if (f.kind == "src-restart") {
      src.restart(f.param ? testing::PgCluster::StopMode::kImmediate
                          : testing::PgCluster::StopMode::kFast);
      outage(f, began, {": capture "}, Role::kCapture);
    } else if (f.kind == "conn-cut") {
      // Every connection of the daemons, on both servers (walsenders too), ends at once; the
      // servers stay up.
      const std::string cut =
          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name "
          "LIKE 'modsync%' AND pid <> pg_backend_pid()";
      try {
        const std::string n = src.query_value("shop", cut) + "+" + sub.query_value("ship", cut);
        note(fmt::format("  cut {} connections", n));
      } catch (const std::exception& e) {
        note(std::string("  conn-cut failed: ") + e.what());
      }
    }
  }
  sleep_watching(t0 + std::chrono::seconds(o.duration_s));
  stop = true;
  for (auto& w : workers) w.join();
  if (broker_stopped) broker.process().signal(SIGCONT);
  for (auto& m : members) {
    if (m->restart_at) {
      note(fmt::format("  {} restarted [start #{}]", m->daemon.name(), m->daemon.starts() + 1));
      up(*m);
    }
  }
  WorkloadStats ws;
  for (const auto& w : writers) ws += w->stats();
  log(fmt::format(
      "workload done: {} transactions ({} failed, {} large), {} statements, {} "
      "truncates, {} key changes, {} TOAST-sized values, {} schema changes, {} connections, "
      "{} writer(s)",
      ws.transactions, ws.failed, ws.large_transactions, ws.statements, ws.truncates, ws.pk_changes,
      ws.big_writes, ws.schema_changes, ws.reconnects, writers.size()));

  // Catch up, then the oracle.
  testing::PgConn src_conn(src.dsn("shop"));
  testing::PgConn sub_conn(sub.dsn("ship"));
  std::vector<Difference> diffs;
  const auto deadline = Clock::now() + std::chrono::seconds(o.converge_s);
  for (;;) {
    check_alive();
    diffs.clear();
    bool all = true;
    for (const auto& p : sc.projections) {
      try {
        diffs.push_back(compare_projection(sc, p, src_conn, sub_conn));
      } catch (const std::exception& e) {
        // A target created by the daemon (create_table) may not exist yet.
        Difference d;
        d.what = p.target;
        d.missing = 1;
        d.samples.push_back(std::string("cannot read: ") + e.what());
        diffs.push_back(d);
      }
      all = all && diffs.back().ok();
    }
    if (all || Clock::now() > deadline) break;
    std::this_thread::sleep_for(2s);
  }
  log(fmt::format("caught up (or gave up) after {:.1f}s",
                  std::chrono::duration<double>(Clock::now() - t0).count() - o.duration_s));
  if (several) {
    // How often the groups moved partitions: every claim after a partition's first is a replica
    // taking it over from another, or again after its own restart.
    try {
      const auto r = sub_conn.query(
          "SELECT count(*), coalesce(sum(epoch), 0) - count(*) FROM modsync.partition_claims");
      log(fmt::format("consumer groups: {} partitions claimed, {} claims taken again", *r[0][0],
                      *r[0][1]));
    } catch (const std::exception& e) {
      log(std::string("consumer groups: cannot read modsync.partition_claims: ") + e.what());
    }
  }
  const auto kafka = check_kafka(sc, broker.bootstrap(), src_conn);
  // What the endpoints said: each outage while it lasted, on one daemon that sees its server
  // and was up to see it, and every daemon ready once caught up.
  int outages_skipped = 0;
  for (const auto& seen : outages) {
    bool shown = false, checked = false;
    std::vector<std::string> missed;
    for (size_t i = 0; i < members.size(); ++i) {
      if (seen.side && roles[i] != Role::kBoth && roles[i] != *seen.side) continue;
      // Down on purpose around it (a start ends a down): as good as restarted nearby. A
      // replica started shortly before may still be joining its groups, with no partition
      // whose fetches could stall (seeds 43 and 46: /readyz rightly said 200 all along).
      const auto settle = roles[i] == Role::kApply ? 15s : 2s;
      if (members[i]->down_during(seen.outage.start - settle, seen.outage.end)) continue;
      const auto c =
          check_outages(*members[i]->watch, {seen.outage}, members[i]->daemon.start_times(), 3s);
      checked = checked || c.checked > 0;
      shown = shown || (c.checked > 0 && c.problems.empty());
      for (const auto& p : c.problems)
        missed.push_back(several ? members[i]->daemon.name() + ": " + p : p);
    }
    if (!checked) {
      ++outages_skipped;
      continue;
    }
    ++result.outages_checked;
    if (!shown) {
      for (const auto& p : missed) problem("outage not shown: " + p);
    }
  }
  const auto ready_from = Clock::now();
  for (auto& m : members) {
    const ReadinessWatch& watch = *m->watch;
    if (!testing::eventually(
            [&] {
              const auto r = watch.between(ready_from, Clock::now());
              return !r.empty() && r.back().code == 200;
            },
            60s, 200ms)) {
      const auto r = watch.between(ready_from, Clock::now());
      problem(fmt::format("caught up, but /readyz{} still answers {}: {}",
                          several ? " of " + m->daemon.name() : "", r.empty() ? 0 : r.back().code,
                          r.empty() ? std::string() : r.back().body));
    }
  }
  log(
      fmt::format("outages shown on /readyz and /metrics: {} checked, {} skipped (daemon "
                  "restarted nearby)",
                  result.outages_checked, outages_skipped));

  // The replicas first, the capture last.
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    Daemon& daemon = (*it)->daemon;
    daemon.child().signal(SIGTERM);
    const auto status = daemon.child().wait(20s);
    if (status != 0) {
      problem(fmt::format("the final SIGTERM{}: exit {}: …{}",
                          several ? " of " + daemon.name() : "",
                          status ? std::to_string(*status) : "none within 20 s", daemon.tail()));
    }
  }

  std::string report;
  for (const auto& d : diffs) {
    result.rows_compared += d.compared;
    result.missing += d.missing;
    result.extra += d.extra;
    result.different += d.different;
    result.duplicated += d.duplicated;
    if (!d.ok() || o.verbose) {
      report +=
          fmt::format("  {}: compared {}, missing {}, extra {}, different {}, duplicated {}\n",
                      d.what, d.compared, d.missing, d.extra, d.different, d.duplicated);
      for (const auto& s : d.samples) report += "      " + s + "\n";
    }
  }
  for (const auto& d : kafka) {
    result.kafka_changes += d.compared;
    result.kafka_missing += d.missing;
    result.kafka_extra += d.extra;
    result.kafka_resent += d.resent;
    result.kafka_unverifiable += d.unverifiable;
    result.kafka_covered += d.covered;
    if (!d.ok() || o.verbose || !d.samples.empty()) {
      report += fmt::format(
          "  {}: changes {}, missing {}, extra {}, re-sent {}, unverifiable {}, covered {}\n",
          d.what, d.compared, d.missing, d.extra, d.resent, d.unverifiable, d.covered);
      for (const auto& s : d.samples) report += "      " + s + "\n";
    }
  }
  result.ok = result.missing == 0 && result.extra == 0 && result.different == 0 &&
              result.duplicated == 0 && result.kafka_missing == 0 && result.kafka_extra == 0 &&
              result.problems.empty();
  if (!result.ok) {
    std::string schedule_text;
    for (const auto& e : executed) schedule_text += "  " + e + "\n";
    std::string projections;
    for (const auto& p : sc.projections)
      projections += "  " + p.describe(sc.tables[static_cast<size_t>(p.table)]) + "\n";
    std::string problems;
    for (const auto& p : result.problems) problems += "  " + p + "\n";
    fmt::print(
        "\n=== chaos FAILED: seed {} (replay: chaos_test --seed {} --duration {} --kills {} "
        "--features {}) ===\n"
        "projections:\n{}faults:\n{}problems:\n{}differences:\n{}",
        o.seed, o.seed, o.duration_s, o.kills, o.features.to_string(), projections, schedule_text,
        problems, report);
    if (!o.keep_dir.empty()) {
      const auto keep = o.keep_dir / fmt::format("seed-{}", o.seed);
      std::filesystem::remove_all(keep);
      std::filesystem::create_directories(keep);
      std::filesystem::copy(logs, keep / "logs", std::filesystem::copy_options::recursive);
      std::filesystem::copy(config_root, keep / "config", std::filesystem::copy_options::recursive);
      std::ofstream(keep / "source.log") << src.log_text();
      // What the oracle saw: the audit of row changes and every table topic as kcat reads it.
      std::ofstream audit(keep / "audit.tsv");
      for (const auto& r :
           src_conn.query("SELECT id, tbl, op, xid, key FROM chaos.audit ORDER BY id")) {
        audit << *r[0] << '\t' << *r[1] << '\t' << *r[2] << '\t' << *r[3] << '\t' << *r[4] << '\n';
      }
      for (const auto& t : sc.tables) {
        std::ofstream topic(keep / ("kafka-" + t.topic() + ".tsv"));
        for (const auto& m : testing::kcat_consume(broker.bootstrap(), t.topic(), 0, 30s)) {
          topic << m.partition << '\t' << m.offset << '\t' << m.key.value_or("null") << '\t'
                << (m.value.size() > 2000 ? m.value.substr(0, 2000) + "…" : m.value) << '\n';
        }
      }
      std::ofstream(keep / "subscriber.log") << sub.log_text();
      fmt::print("logs and configs kept in {}\n", keep.string());
    }
  } else if (o.verbose) {
    fmt::print("{}", report);
  }
  fmt::print("{}\n", result.summary());
  std::fflush(stdout);
  return result;
}

}  // namespace modsync::chaos
