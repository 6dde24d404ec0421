#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "modsync/common/lsn.hpp"
#include "modsync/pg/pg_connection.hpp"

namespace modsync::pgsource {

/// A logical replication connection in the walsender protocol: slot creation, then
/// START_REPLICATION and the CopyBoth stream of XLogData and keepalive frames.
/// Not thread-safe; one owner drives it from one thread.
class ReplicationStream {
 public:
  struct SlotInfo {
    std::string name;
    Lsn consistent_point;
    std::string snapshot_name;  ///< exported snapshot, valid until this connection runs another command
  };

  struct Frame {
    enum class Kind { kNone, kData, kKeepalive };
    Kind kind = Kind::kNone;
    Lsn wal_start;  ///< XLogData: WAL position of the message
    Lsn wal_end;    ///< the server's current end of WAL (both frame types)
    bool reply_requested = false;
    std::string_view payload;  ///< XLogData: one pgoutput message; valid until the next read()
  };

  /// `conn` must be a replication-mode connection.
  explicit ReplicationStream(pg::PgConnection conn) : conn_(std::move(conn)) {}

  /// CREATE_REPLICATION_SLOT with pgoutput. With `export_snapshot`, the returned snapshot can
  /// be imported (SET TRANSACTION SNAPSHOT) until this stream runs its next command.
  SlotInfo create_slot(const std::string& name, bool temporary, bool export_snapshot);

  /// START_REPLICATION on `slot` from `start` (0/0: the slot's confirmed position), pgoutput
  /// protocol version 1 with logical messages. Throws Error naming the slot on failure; a slot
  /// active in another process is retriable.
  void start(const std::string& slot, Lsn start, const std::string& publication);

  /// Returns the next frame, waiting at most `timeout_ms` for one (0: never blocks). Throws a
  /// retriable Error when the connection is lost or the server ends the stream.
  Frame read(int timeout_ms);

  /// Sends a standby status update: everything up to `flushed` may be discarded by the server.
  void send_status(Lsn received, Lsn flushed, bool reply_requested = false);

  pg::PgConnection& connection() { return conn_; }

 private:
  pg::PgConnection conn_;
  pg::PqBuffer buffer_;
};

}  // namespace modsync::pgsource
