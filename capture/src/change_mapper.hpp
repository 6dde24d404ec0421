#pragma once
// pgoutput messages and snapshot rows → change events: the capture's mapping rules, pure.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "modsync/common/lsn.hpp"
#include "modsync/event/envelope.hpp"
#include "modsync/event/event_headers.hpp"
#include "modsync/event/row.hpp"
#include "modsync/event/table_schema.hpp"
#include "modsync/pgsource/pgoutput.hpp"

namespace modsync::capture {

/// One event ready for Kafka. The views point into the mapper's buffers: valid only during
/// ChangeMapper::Host::emit().
struct MappedEvent {
  enum class Kind {
    kChange,       ///< a row change (c u d) or snapshot row (r): Kafka's size limit is checked
    kTruncate,     ///< a truncate of one table (streamed, or a snapshot restart)
    kTombstone,    ///< the null-value record after a delete (source.tombstones_on_delete)
    kTransaction,  ///< a BEGIN or END record on the transaction topic
    kMessage,      ///< a logical decoding message (pg_logical_emit_message)
  };
  Kind kind = Kind::kChange;
  event::Op op = event::Op::kCreate;  ///< kChange, kTruncate (t), kMessage (m), kTombstone (d)
  const event::TableSchema* table = nullptr;  ///< nullptr for kTransaction and kMessage
  std::string_view topic;
  bool has_key = false;  ///< false: a null key (round-robin partition)
  std::string_view key;
  std::string_view value;  ///< data() nullptr for a tombstone (a null value)
  std::span<const event::EventHeaders::Header> headers;
  /// What the durability tracker records for it (DurabilityTracker::add): nullopt for events
  /// that must not move the acked position (see there).
  std::optional<Position> position;
};

/// Maps decoded pgoutput messages (and snapshot rows) to change events, in stream order:
///  - a key change (an update whose key columns changed) becomes a delete of the old key and
///    a create of the new one, so each key's partition sees a complete history;
///  - unchanged TOASTed values are filled from the full old row (REPLICA IDENTITY FULL), else
///    asked of the Host (read from the source's current row), else left marked unchanged;
///  - REPLICA IDENTITY FULL tables keep their primary key as the event key (pgoutput flags
///    every column as identity);
///  - deletes get a tombstone after them when configured, which then carries the position;
///  - logical messages are filtered by prefix; the capture's heartbeats are dropped;
///  - BEGIN and END transaction records when a transaction topic is configured;
///  - events at or before resume_after (already in Kafka) and changes a table's snapshot
///    already holds are skipped, keeping their positions, so replays carry the same ids.
/// Every position (commit LSN, index) is assigned here. No I/O: what needs the source or the
/// registry goes through Host. Not thread-safe; one per capture pipeline.
class ChangeMapper {
 public:
  /// What the mapper needs from its surroundings (the pipeline, or a test).
  class Host {
   public:
    virtual ~Host() = default;
    /// The table behind `relation_id`, or nullptr if no Relation message announced it.
    virtual const event::TableSchema* find_table(uint32_t relation_id) = 0;
    /// Registers the table a Relation message describes (key flags already set); returns its
    /// schema, valid while the registry lives. `at`: where the description takes effect.
    virtual const event::TableSchema& register_relation(uint32_t relation_id,
                                                        std::string_view nspname,
                                                        std::string_view relname,
                                                        std::vector<event::Column> columns,
                                                        Lsn at) = 0;
    /// `after` (an update of `table` in transaction `tx`, without REPLICA IDENTITY FULL) with
    /// its unchanged TOASTed values read from the source's current row; `after` itself when
    /// the row is gone. The result must stay valid until the next call.
    virtual event::RowImage fill_unchanged(const event::TableSchema& table, const pgsource::Begin& tx,
                                           event::RowImage after) = 0;
    /// One event, in order. May throw (the pipeline stops there).
    virtual void emit(const MappedEvent& event) = 0;
    /// Every event of a unit (a transaction, a non-transactional message) was emitted;
    /// `confirm_at` is the LSN PostgreSQL may be told once Kafka holds them.
    virtual void end_unit(Lsn confirm_at) = 0;
  };

  struct Options {
    std::string context;  ///< "source M (pair P)", the start of every error message
    std::string module;
    std::string message_topic;
    std::string transaction_topic;  ///< "" when transaction records are off
    bool tombstones_on_delete = true;
    /// Only messages with these prefixes are published; nullopt: all.
    std::optional<std::vector<std::string>> message_prefixes;
    event::EncoderOptions encoder;
  };

  explicit ChangeMapper(Options options);

  /// The source as this run found it: its database name, and each published table's primary
  /// key columns by relation id (the key of a REPLICA IDENTITY FULL table's events).
  void set_source(std::string database,
                  std::unordered_map<uint32_t, std::vector<std::string>> primary_keys);

  /// Starts a stream: events at or before `resume_after` are already in Kafka; per relation,
  /// changes committed before the LSN are in its snapshot (SnapshotProgress::whole_at).
  void start_stream(std::optional<Position> resume_after,
                    std::unordered_map<uint32_t, Lsn> snapshot_covers);

  /// Maps one message. `received`: the WAL position of its frame (for a Relation outside a
  /// transaction, and for error messages). Throws modsync::Error on an inconsistent stream.
  void map(const pgsource::Message& message, Lsn received, Host& host);

  /// One snapshot row (op "r") of `table`; `source` carries its position and markers.
  void snapshot_row(const event::TableSchema& table, event::RowImage row,
                    const event::SourceInfo& source, int64_t ts_ms, Host& host);
  /// A snapshot truncate of `table` (a snapshot that starts over), without a position.
  void snapshot_truncate(const event::TableSchema& table, const event::SourceInfo& source,
                         Host& host);

  /// Between a Begin and its Commit.
  bool in_transaction() const { return in_tx_; }

  const std::string& database() const { return database_; }

 private:
  void on(const pgsource::Begin& m, Lsn received, Host& host);
  void on(const pgsource::Commit& m, Lsn received, Host& host);
  void on(const pgsource::Origin&, Lsn, Host&) {}
  void on(const pgsource::Type&, Lsn, Host&) {}
  void on(const pgsource::Relation& m, Lsn received, Host& host);
  void on(const pgsource::Insert& m, Lsn received, Host& host);
  void on(const pgsource::Update& m, Lsn received, Host& host);
  void on(const pgsource::Delete& m, Lsn received, Host& host);
  void on(const pgsource::Truncate& m, Lsn received, Host& host);
  void on(const pgsource::LogicalMessage& m, Lsn received, Host& host);

  const event::TableSchema& table_for(uint32_t relation_id, const char* what, Lsn received,
                                      Host& host) const;
  bool covered(uint32_t relation_id) const;
  bool already_sent(const Position& p) const { return resume_after_ && p <= *resume_after_; }
  /// The next position in the current transaction; false when Kafka already holds it.
  bool next_position(event::SourceInfo& source);
  void emit_change(const event::TableSchema& t, event::Op op, event::RowImage key_row,
                   event::RowImage before, event::RowImage after, bool skip, Host& host);
  void emit_transaction(bool begin, Host& host);
  void emit_message(const pgsource::LogicalMessage& m, const event::SourceInfo& source, Host& host);
  bool wants_message(std::string_view prefix) const;
  MappedEvent change_event(MappedEvent::Kind kind, event::Op op, const event::TableSchema& t,
                           bool has_key, std::optional<Position> position) const;

  Options options_;
  event::EnvelopeEncoder encoder_;
  std::string database_;
  std::unordered_map<uint32_t, std::vector<std::string>> primary_keys_;

  std::optional<Position> resume_after_;
  std::unordered_map<uint32_t, Lsn> snapshot_covers_;
  bool in_tx_ = false;
  pgsource::Begin tx_;
  uint32_t tx_index_ = 0;
  uint32_t tx_events_ = 0;

  // Reused buffers: the hot path does not allocate per row.
  std::string key_, value_;
  std::vector<event::ColumnValue> full_row_;
  event::EventHeaders headers_;
  std::vector<event::EventHeaders::Header> json_headers_;
};

}  // namespace modsync::capture
