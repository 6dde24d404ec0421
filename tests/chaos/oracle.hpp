#pragma once
// The oracle of a chaos run, independent of modsync's code: what each projection must hold,
// computed in SQL on the source (the filter in its SQL form), compared row by row as text; and
// whether Kafka holds an event for every row change the source's audit triggers recorded.

#include <cstdint>
#include <string>
#include <vector>

#include "modsync/testing/kcat.hpp"
#include "modsync/testing/pg_conn.hpp"
#include "scenario.hpp"

namespace modsync::chaos {

struct Difference {
  std::string what;  ///< e.g. "p_acct_0", "kafka shop.public.acct"
  int64_t compared = 0;
  int64_t missing = 0;
  int64_t extra = 0;
  int64_t different = 0;
  int64_t duplicated = 0;
  int64_t resent = 0;  ///< Kafka only: events sent again with the same position (allowed)
  /// Kafka only: changes with no event that the dev broker's retention may have dropped (older
  /// than everything left on the trimmed partition their key is on): not verifiable, not failed.
  int64_t unverifiable = 0;
  /// Kafka only: changes with no event that the table's snapshot holds (committed before the
  /// consistent point of its latest snapshot, when that one read the whole table: after a
  /// restart, or a table whose snapshot began after streaming had): streaming skips them by
  /// design (docs/events.md, "Snapshot restarts"). Not failed.
  int64_t covered = 0;
  std::vector<std::string> samples;  ///< the first differing rows, for the report
  bool ok() const { return missing == 0 && extra == 0 && different == 0 && duplicated == 0; }
};

/// SQL of the audit schema on the source: chaos.audit, chaos.ins_<table> (every row image that
/// entered the table: inserts and key changes), chaos.upd_<table> (every new image of an update
/// that kept the key), both emptied by a truncate, and the triggers.
std::string audit_setup_sql(const Scenario& s);

/// A test_decoding slot the harness creates before any change: it tells each transaction's
/// commit LSN at the end.
inline constexpr const char* kOracleSlot = "chaos_oracle";

/// Compares one projection. `src` is a connection to the source database, `sub` to the
/// subscriber's.
Difference compare_projection(const Scenario& s, const Projection& p, testing::PgConn& src,
                              testing::PgConn& sub);

/// Reads every table topic with kcat and checks that each audited row change (table, op,
/// transaction, key) has as many distinct event positions as the audit has changes.
/// Duplicates (re-sent events) are counted, not failed. A partition whose first offset is past
/// 0 lost its oldest records to the dev broker's retention: a change missing from it that
/// committed before every transaction left on it is counted as unverifiable instead. A change
/// that committed before the consistent point of the table's latest snapshot on its topic (its
/// rows' positions, or just above a snapshot truncate) is counted as covered: its commit LSN comes
/// from the source's own decoding (kOracleSlot, test_decoding), independent of modsync.
std::vector<Difference> check_kafka(const Scenario& s, const std::string& brokers,
                                    testing::PgConn& src);

}  // namespace modsync::chaos
