#pragma once
// PostgreSQL connection strings (libpq conninfo "key=value …" or postgresql:// URIs) and the
// rule that their passwords never reach a log line or an error message.

#include <string>
#include <string_view>

namespace modsync::config {

/// Returns `dsn` with every password replaced by "***": the values of `password` and
/// `sslpassword` keywords in conninfo, the password in a URI's user-info, and `password` /
/// `sslpassword` URI query parameters. Text that cannot be parsed is redacted from the first
/// "password" to the end, so a malformed DSN still never leaks. Pure; safe on any input.
std::string redact_dsn(std::string_view dsn);

/// True when `dsn` is a postgresql:// or postgres:// URI rather than keyword/value conninfo.
bool is_dsn_uri(std::string_view dsn);

/// True when `dsn` carries a password (keyword, URI user-info or query parameter).
bool dsn_has_password(std::string_view dsn);

/// Describes why `dsn` is not well-formed conninfo or URI ("unterminated quoted value", …);
/// empty when it is. The description never quotes the DSN itself.
std::string dsn_syntax_error(std::string_view dsn);

/// Appends `password` to `dsn`: as password='…' (quoted and escaped for conninfo) or as a
/// percent-encoded ?password=/&password= query parameter for a URI.
std::string dsn_with_password(std::string_view dsn, std::string_view password);

/// Appends any libpq keyword the same way: key='value' for conninfo, ?key=value or &key=value
/// (percent-encoded) for a URI. A keyword already in `dsn` is not removed; libpq takes the last.
std::string dsn_with_parameter(std::string_view dsn, std::string_view key, std::string_view value);

}  // namespace modsync::config
