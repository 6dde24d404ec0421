#include "modsync/config/dsn.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace modsync::config {

namespace {

constexpr std::string_view kMask = "***";

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

bool is_secret_keyword(std::string_view key) {
  return key == "password" || key == "sslpassword";
}

/// One keyword=value pair of conninfo; [value_begin, value_end) spans the value as written,
/// quotes included.
struct ConninfoPair {
  std::string_view key;
  size_t value_begin = 0;
  size_t value_end = 0;
};

/// Splits conninfo the way libpq's conninfo_parse does. Returns the pairs, or sets `error`.
std::vector<ConninfoPair> split_conninfo(std::string_view s, std::string* error) {
  std::vector<ConninfoPair> pairs;
  size_t i = 0;
  while (true) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i == s.size()) return pairs;
    const size_t key_begin = i;
    while (i < s.size() && s[i] != '=' && !is_space(s[i])) ++i;
    ConninfoPair pair;
    pair.key = s.substr(key_begin, i - key_begin);
    while (i < s.size() && is_space(s[i])) ++i;
    if (i == s.size() || s[i] != '=') {
      *error = fmt::format("keyword \"{}\" is not followed by \"=\"", pair.key);
      return pairs;
    }
    ++i;
    while (i < s.size() && is_space(s[i])) ++i;
    pair.value_begin = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          i += 2;
        } else if (s[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          ++i;
        }
      }
      if (!closed) {
        *error = fmt::format("the value of \"{}\" has an unterminated quote", pair.key);
        return pairs;
      }
    } else {
      while (i < s.size() && !is_space(s[i])) i += (s[i] == '\\' && i + 1 < s.size()) ? 2 : 1;
    }
    pair.value_end = i;
    pairs.push_back(pair);
  }
}

/// The parts of a URI that may hold a password.
struct UriParts {
  size_t authority_begin = 0;
  size_t authority_end = 0;                     ///< first '/', '?' or end after the scheme
  size_t query_begin = std::string_view::npos;  ///< just after '?'
};

UriParts split_uri(std::string_view s) {
  UriParts parts;
  parts.authority_begin = s.find("://") + 3;
  parts.authority_end = s.find_first_of("/?", parts.authority_begin);
  if (parts.authority_end == std::string_view::npos) parts.authority_end = s.size();
  const size_t q = s.find('?', parts.authority_begin);
  if (q != std::string_view::npos) parts.query_begin = q + 1;
  return parts;
}

/// The [begin, end) span of the user-info password, if any.
std::optional<std::pair<size_t, size_t>> uri_password_span(std::string_view s,
                                                           const UriParts& parts) {
  const std::string_view authority =
      s.substr(parts.authority_begin, parts.authority_end - parts.authority_begin);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return std::pair{parts.authority_begin + colon + 1, parts.authority_begin + at};
}

/// Calls `f(key, value_begin, value_end)` for each query parameter.
template <typename F>
void for_each_query_param(std::string_view s, const UriParts& parts, F&& f) {
  if (parts.query_begin == std::string_view::npos) return;
  size_t i = parts.query_begin;
  while (i <= s.size()) {
    size_t end = s.find_first_of("&#", i);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view param = s.substr(i, end - i);
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos) f(param.substr(0, eq), i + eq + 1, end);
    if (end == s.size() || s[end] == '#') break;
    i = end + 1;
  }
}

/// Replaces each [begin, end) span (sorted, disjoint) of `s` with the mask.
std::string mask_spans(std::string_view s, std::vector<std::pair<size_t, size_t>> spans) {
  std::sort(spans.begin(), spans.end());
  std::string out;
  size_t pos = 0;
  for (auto [begin, end] : spans) {
    out += s.substr(pos, begin - pos);
    out += kMask;
    pos = end;
  }
  out += s.substr(pos);
  return out;
}

/// Last resort for text we cannot parse: everything from the first "password" on is hidden.
std::string redact_tail(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const size_t at = lower.find("password");
  if (at == std::string::npos) return std::string(s);
  return std::string(s.substr(0, at + 8)) + "=" + std::string(kMask);
}

}  // namespace

bool is_dsn_uri(std::string_view dsn) {
  return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

std::string redact_dsn(std::string_view dsn) {
  std::vector<std::pair<size_t, size_t>> spans;
  if (is_dsn_uri(dsn)) {
    const UriParts parts = split_uri(dsn);
    if (auto span = uri_password_span(dsn, parts)) spans.push_back(*span);
    for_each_query_param(dsn, parts, [&](std::string_view key, size_t b, size_t e) {
      if (is_secret_keyword(key)) spans.emplace_back(b, e);
    });
    return mask_spans(dsn, std::move(spans));
  }
  std::string error;
  const auto pairs = split_conninfo(dsn, &error);
  if (!error.empty()) return redact_tail(dsn);
  for (const auto& p : pairs) {
    if (is_secret_keyword(p.key)) spans.emplace_back(p.value_begin, p.value_end);
  }
  return mask_spans(dsn, std::move(spans));
}

bool dsn_has_password(std::string_view dsn) {
  if (is_dsn_uri(dsn)) {
    const UriParts parts = split_uri(dsn);
    bool found = uri_password_span(dsn, parts).has_value();
    for_each_query_param(dsn, parts, [&](std::string_view key, size_t, size_t) {
      found = found || key == "password";
    });
    return found;
  }
  std::string error;
  const auto pairs = split_conninfo(dsn, &error);
  return std::any_of(pairs.begin(), pairs.end(),
                     [](const ConninfoPair& p) { return p.key == "password"; });
}

std::string dsn_syntax_error(std::string_view dsn) {
  if (dsn.find_first_not_of(" \t\r\n") == std::string_view::npos) return "it is empty";
  if (is_dsn_uri(dsn)) return {};
  std::string error;
  split_conninfo(dsn, &error);
  return error;
}

std::string dsn_with_parameter(std::string_view dsn, std::string_view key, std::string_view value) {
  std::string out(dsn);
  if (is_dsn_uri(dsn)) {
    out += dsn.find('?') == std::string_view::npos ? '?' : '&';
    out += key;
    out += '=';
    for (unsigned char c : value) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        out += static_cast<char>(c);
      } else {
        out += fmt::format("%{:02X}", c);
      }
    }
    return out;
  }
  out += ' ';
  out += key;
  out += "='";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

std::string dsn_with_password(std::string_view dsn, std::string_view password) {
  return dsn_with_parameter(dsn, "password", password);
}

}  // namespace modsync::config
