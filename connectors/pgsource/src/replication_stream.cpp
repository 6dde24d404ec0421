#include "modsync/pgsource/replication_stream.hpp"

#include <poll.h>

#include <chrono>

#include "modsync/common/error.hpp"
#include "modsync/pgsource/pgoutput.hpp"

namespace modsync::pgsource {

namespace {

uint64_t read_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void write_u64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

int64_t now_pg_time() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return unix_us_to_pg_time(us);
}

}  // namespace

ReplicationStream::SlotInfo ReplicationStream::create_slot(const std::string& name, bool temporary,
                                                           bool export_snapshot) {
  const std::string sql = fmt::format(
      "CREATE_REPLICATION_SLOT {} {}LOGICAL pgoutput (SNAPSHOT '{}')", conn_.quote_ident(name),
      temporary ? "TEMPORARY " : "", export_snapshot ? "export" : "nothing");
  pg::PgResult r(PQexec(conn_.get(), sql.c_str()));
  if (!r || r.status() != PGRES_TUPLES_OK) {
    std::string msg = r ? PQresultErrorMessage(r.get()) : conn_.last_error();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    if (r.sqlstate() == "53400") {
      fail(
          "{}: cannot create replication slot {}: {}. Fix: raise max_replication_slots in "
          "postgresql.conf (and restart), or drop unused slots (modsync slots list).",
          conn_.context(), name, msg);
    }
    fail_retriable("{}: cannot create replication slot {}: {}", conn_.context(), name, msg);
  }
  SlotInfo info;
  info.name = std::string(r.value(0, 0));
  auto lsn = Lsn::parse(r.value(0, 1));
  if (!lsn) fail("{}: CREATE_REPLICATION_SLOT returned a malformed LSN", conn_.context());
  info.consistent_point = *lsn;
  if (!r.is_null(0, 2)) info.snapshot_name = std::string(r.value(0, 2));
  return info;
}

void ReplicationStream::start(const std::string& slot, Lsn start, const std::string& publication) {
  // publication_names is a comma-separated list of identifiers inside a string literal.
  const std::string pubs = conn_.quote_ident(publication);
  const std::string sql = fmt::format(
      "START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names {}, messages "
      "'true')",
      conn_.quote_ident(slot), start, conn_.quote_literal(pubs));
  pg::PgResult r(PQexec(conn_.get(), sql.c_str()));
  if (!r || r.status() != PGRES_COPY_BOTH) {
    std::string msg = r ? PQresultErrorMessage(r.get()) : conn_.last_error();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    if (r.sqlstate() == "55006") {
      fail_retriable(
          "{}: replication slot {} is in use by another process: {}. Fix: stop the other "
          "consumer of this slot (another modsync with the same daemon.id?), or give "
          "this pair its own source.slot.",
          conn_.context(), slot, msg);
    }
    if (r.sqlstate() == "42704") {
      fail(
          "{}: {}. Fix: check source.publication, or let modsync create it by removing the "
          "stale publication setting.",
          conn_.context(), msg);
    }
    fail_retriable("{}: START_REPLICATION on slot {} failed: {}", conn_.context(), slot, msg);
  }
}

ReplicationStream::Frame ReplicationStream::read(int timeout_ms) {
  buffer_.reset();
  for (int attempt = 0; attempt < 2; ++attempt) {
    char* raw = nullptr;
    const int len = PQgetCopyData(conn_.get(), &raw, /*async=*/1);
    if (len > 0) {
      buffer_.reset(raw);
      Frame f;
      // XLogData: 'w' Int64 dataStart, Int64 walEnd, Int64 sendTime, Byte[n] message.
      // Keepalive: 'k' Int64 walEnd, Int64 sendTime, Byte1 replyRequested.
      if (raw[0] == 'w' && len >= 25) {
        f.kind = Frame::Kind::kData;
        f.wal_start = Lsn{read_u64(raw + 1)};
        f.wal_end = Lsn{read_u64(raw + 9)};
        f.payload = std::string_view(raw + 25, static_cast<size_t>(len - 25));
        return f;
      }
      if (raw[0] == 'k' && len >= 18) {
        f.kind = Frame::Kind::kKeepalive;
        f.wal_end = Lsn{read_u64(raw + 1)};
        f.reply_requested = raw[17] != 0;
        return f;
      }
      fail("{}: unexpected replication frame type 0x{:02x} of {} bytes", conn_.context(),
           static_cast<unsigned char>(raw[0]), len);
    }
    if (len == -1) {
      pg::PgResult r(PQgetResult(conn_.get()));
      std::string msg = r ? PQresultErrorMessage(r.get()) : conn_.last_error();
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      fail_retriable("{}: the server ended the replication stream: {}", conn_.context(),
                     msg.empty() ? "no reason given" : msg);
    }
    if (len == -2) {
      fail_retriable("{}: replication connection lost: {}", conn_.context(), conn_.last_error());
    }
    if (attempt == 1 || timeout_ms == 0) break;
    pollfd pfd{PQsocket(conn_.get()), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, timeout_ms);
    if (ready <= 0) break;
    if (PQconsumeInput(conn_.get()) == 0) {
      fail_retriable("{}: replication connection lost: {}", conn_.context(), conn_.last_error());
    }
  }
  if (timeout_ms == 0 && PQconsumeInput(conn_.get()) == 0) {
    fail_retriable("{}: replication connection lost: {}", conn_.context(), conn_.last_error());
  }
  return Frame{};
}

void ReplicationStream::send_status(Lsn received, Lsn flushed, bool reply_requested) {
  // Standby status update: 'r' Int64 written, Int64 flushed, Int64 applied, Int64 clock,
  // Byte1 replyRequested.
  char msg[34];
  msg[0] = 'r';
  write_u64(msg + 1, received.value());
  write_u64(msg + 9, flushed.value());
  write_u64(msg + 17, flushed.value());
  write_u64(msg + 25, static_cast<uint64_t>(now_pg_time()));
  msg[33] = reply_requested ? 1 : 0;
  if (PQputCopyData(conn_.get(), msg, sizeof msg) != 1 || PQflush(conn_.get()) != 0) {
    fail_retriable("{}: cannot send standby status update: {}", conn_.context(),
                   conn_.last_error());
  }
}

}  // namespace modsync::pgsource
