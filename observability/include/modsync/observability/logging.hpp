#pragma once
// Structured logs on stderr: logfmt or JSON lines (daemon.log.format), one event per line.
//
//   logfmt: ts=2026-11-26T17:00:00.123Z level=info msg="capture streaming" pair=orders-to-shipping
//   json:   {"ts":"2026-11-26T17:00:00.123Z","level":"info","msg":"capture
//   streaming","pair":"orders-to-shipping"}
//
// `ts` is UTC with milliseconds; `level` is trace, debug, info, warn, error or critical; `msg` is
// the spdlog message text. Context fields follow, from ScopedLogContext (below). Escaping: in
// JSON, and in quoted logfmt values, `"` `\` newline, carriage return and tab are backslash
// escaped and other control characters are written as \u00XX, so one event is always one line.
// logfmt quotes `msg` always and other values only when they are empty or contain a space, `=`,
// `"`, `\` or a control character.
//
// Secrets: the formatter does not look inside messages. Callers print DSNs only through
// config::redact_dsn() and never print effective_dsn or password files (docs/configuration.md).

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include "modsync/config/config.hpp"

namespace modsync::observability {

/// Replaces spdlog's default logger with one named "modsync" writing to stderr through
/// make_log_formatter(format), at `level`. Call from the main thread at start-up (and on reload),
/// while no other thread is logging. Logging stays synchronous, which ScopedLogContext needs.
void configure_logging(config::LogFormat format, config::LogLevel level);

/// Changes the level and format of the logger configure_logging installed, in place, while other
/// threads log (SIGHUP): the level is atomic and each sink swaps its formatter under its lock.
void reconfigure_logging(config::LogFormat format, config::LogLevel level);

/// The formatter configure_logging installs, for tests and for extra sinks. Thread-safe in the
/// way spdlog needs (each sink owns its clone).
std::unique_ptr<spdlog::formatter> make_log_formatter(config::LogFormat format);

spdlog::level::level_enum to_spdlog_level(config::LogLevel level);

/// Adds `key=value` to every log line written by this thread while the object lives, after the
/// fields of enclosing contexts, e.g. in a pair's supervisor thread:
///
///   ScopedLogContext context("pair", pair.daemon.id);
///   spdlog::info("capture streaming");   // … msg="capture streaming" pair=orders-to-shipping
///
/// Thread-local: it applies to log calls on the creating thread only, so loggers must stay
/// synchronous (no spdlog async sinks). `key` should be a lower-case identifier and not ts, level
/// or msg. Neither copyable nor movable; destroy in reverse order of creation (scope does that).
class ScopedLogContext {
 public:
  ScopedLogContext(std::string key, std::string value);
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;
};

}  // namespace modsync::observability
