#pragma once
// ${VAR} / ${VAR:-default} substitution applied to every string scalar of a configuration file.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace modsync::config {

/// Looks up one environment variable; nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment (getenv).
EnvLookup process_env();

/// Result of interpolate(): either `value`, or `error` (non-empty) describing the first problem
/// in the "expected …; got …. Fix: …." form used by diagnostics.
struct Interpolated {
  std::string value;
  std::string error;
};

/// Expands ${NAME} and ${NAME:-default} (the default is used when NAME is unset or empty, as in
/// the shell); "$$" is a literal "$"; a "$" followed by anything else is kept as is. NAME is
/// [A-Za-z_][A-Za-z0-9_]*. Defaults are not expanded again. An unset NAME without default, an
/// unterminated "${" or an invalid name is an error.
Interpolated interpolate(std::string_view text, const EnvLookup& env);

}  // namespace modsync::config
