#include "partition_claims.hpp"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"
#include "modsync/pgsink/projection_writer.hpp"

namespace modsync::apply {

namespace {

/// `partitions` as a PostgreSQL int[] literal, sorted: claims and checks lock the rows in the
/// same order, so two of them never deadlock.
std::string int_array(std::vector<int32_t> partitions) {
  std::sort(partitions.begin(), partitions.end());
  return fmt::format("{{{}}}", fmt::join(partitions, ","));
}

}  // namespace

PartitionClaims::PartitionClaims(pg::PgConnection& conn, std::string projection_id,
                                 std::string topic, std::string context)
    : conn_(conn),
      projection_id_(std::move(projection_id)),
      topic_(std::move(topic)),
      context_(std::move(context)),
      owner_(this_owner()) {}

void PartitionClaims::ensure_table(pg::PgConnection& conn) {
  // The lock ensure_offsets_table takes: concurrent IF NOT EXISTS creations collide.
  conn.exec(
      fmt::format("SELECT pg_advisory_xact_lock({}); "
                  "CREATE SCHEMA IF NOT EXISTS modsync; "
                  "CREATE TABLE IF NOT EXISTS modsync.partition_claims ("
                  "  projection text NOT NULL, topic text NOT NULL, partition int NOT NULL,"
                  "  epoch bigint NOT NULL, owner text NOT NULL,"
                  "  claimed_at timestamptz NOT NULL DEFAULT now(),"
                  "  PRIMARY KEY (projection, topic, partition))",
                  pgsink::ProjectionWriter::kSchemaLockKey));
}

std::string PartitionClaims::this_owner() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return fmt::format("{}:{}", host, getpid());
}

std::vector<std::optional<int64_t>> PartitionClaims::claim(const std::vector<int32_t>& partitions) {
  std::vector<std::optional<int64_t>> next(partitions.size());
  if (partitions.empty()) return next;
  const std::string array = int_array(partitions);
  pg::PgResult claimed;
  for (auto waited = std::chrono::milliseconds(0);; waited += wait_step_) {
    // The wait in steps, each one said: the claim otherwise hung without a word while a
    // frozen replica held the rows (up to idle_in_transaction_session_timeout).
    conn_.exec(fmt::format("BEGIN; SET LOCAL lock_timeout = {}", wait_step_.count()));
    try {
      claimed = conn_.exec_params(
          "INSERT INTO modsync.partition_claims AS c (projection, topic, partition, epoch, owner) "
          "SELECT $1, $2, p, 1, $3 FROM unnest($4::int[]) p ORDER BY p "
          "ON CONFLICT (projection, topic, partition) DO UPDATE SET epoch = c.epoch + 1, "
          "owner = EXCLUDED.owner, claimed_at = now() RETURNING partition, epoch",
          {projection_id_, topic_, owner_, array});
      break;
    } catch (const pg::SqlError& e) {
      pg::PgResult rollback(PQexec(conn_.get(), "ROLLBACK"));
      if (e.sqlstate() != "55P03") throw;  // lock_not_available: lock_timeout
    } catch (...) {
      pg::PgResult rollback(PQexec(conn_.get(), "ROLLBACK"));
      throw;
    }
    const std::string why = fmt::format(
        "{}: claiming partition(s) {} has waited {} s for another session's transaction that "
        "holds their claims ({}): a batch of the previous owner, which may be frozen inside "
        "it (SIGSTOP, a paused VM); PostgreSQL ends such a session after "
        "idle_in_transaction_session_timeout (60 s). The partitions are applied once the claim "
        "goes through. Fix: none if it clears; to end it at once, SELECT "
        "pg_terminate_backend(pid) in the subscriber database",
        context_, fmt::join(partitions, ","),
        std::chrono::duration_cast<std::chrono::seconds>(waited + wait_step_).count(),
        claim_holders());
    if (report_wait_) {
      report_wait_(why);
    } else {
      spdlog::warn("{}", why);
    }
  }
  try {
    // A new statement, so a new snapshot: it sees the offsets of the batch the INSERT waited for.
    pg::PgResult stored = conn_.exec_params(
        "SELECT partition, next_offset FROM modsync.offsets WHERE projection = $1 AND topic = $2 "
        "AND partition = ANY($3::int[])",
        {projection_id_, topic_, array});
    conn_.exec("COMMIT");
    for (int i = 0; i < claimed.rows(); ++i) {
      epochs_[std::stoi(std::string(claimed.value(i, 0)))] =
          std::stoll(std::string(claimed.value(i, 1)));
    }
    for (int i = 0; i < stored.rows(); ++i) {
      const int32_t p = std::stoi(std::string(stored.value(i, 0)));
      const auto at = std::find(partitions.begin(), partitions.end(), p);
      if (at != partitions.end()) {
        next[at - partitions.begin()] = std::stoll(std::string(stored.value(i, 1)));
      }
    }
  } catch (...) {
    pg::PgResult rollback(PQexec(conn_.get(), "ROLLBACK"));
    throw;
  }
  return next;
}

std::string PartitionClaims::claim_holders() {
  return conn_.query_value(
      "SELECT coalesce(string_agg(format('pid %s, %s%s, %s for %s s', a.pid, "
      "coalesce(nullif(a.application_name, ''), 'unnamed'), coalesce(' from ' || "
      "host(a.client_addr), ''), a.state, round(extract(epoch FROM now() - a.state_change))), "
      "'; ' ORDER BY a.pid), 'none idle in a transaction now') FROM pg_stat_activity a WHERE "
      "a.pid <> pg_backend_pid() AND a.state LIKE 'idle in transaction%' AND a.pid IN (SELECT "
      "l.pid FROM pg_locks l WHERE l.relation = 'modsync.partition_claims'::regclass AND "
      "l.granted)");
}

void PartitionClaims::release(const std::vector<int32_t>& partitions) {
  for (int32_t p : partitions) epochs_.erase(p);
}

void PartitionClaims::check(const std::vector<int32_t>& partitions) {
  if (partitions.empty()) return;
  for (int32_t p : partitions) {
    if (!owns(p)) {
      fail_retriable(
          "{}: a batch holds events of partition {}, which this process does not own (its "
          "consumer lost or gave it up): the batch is rolled back, the new owner applies them",
          context_, p);
    }
  }
  // FOR SHARE: a claim of these rows by another process waits until this transaction ends.
  pg::PgResult r = conn_.exec_params(
      "SELECT partition, epoch, owner FROM modsync.partition_claims WHERE projection = $1 AND "
      "topic = $2 AND partition = ANY($3::int[]) ORDER BY partition FOR SHARE",
      {projection_id_, topic_, int_array(partitions)});
  for (int i = 0; i < r.rows(); ++i) {
    const int32_t p = std::stoi(std::string(r.value(i, 0)));
    const int64_t epoch = std::stoll(std::string(r.value(i, 1)));
    const int64_t mine = epochs_.at(p);
    if (epoch != mine) {
      epochs_.erase(p);
      fail_retriable(
          "{}: partition {} was claimed by {} (claim {}, this process had claim {}): the "
          "consumer group gave it to another process while this one applied a batch, so the "
          "batch is rolled back and its events are applied by the new owner, once",
          context_, p, r.value(i, 2), epoch, mine);
    }
  }
  if (r.rows() != static_cast<int>(partitions.size())) {
    fail_retriable(
        "{}: the claims of partitions {} are missing from modsync.partition_claims "
        "(deleted by hand?): the batch is rolled back",
        context_, fmt::join(partitions, ","));
  }
}

}  // namespace modsync::apply
