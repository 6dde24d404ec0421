#include "modsync/config/dsn.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <libpq-fe.h>

namespace modsync::config {

namespace {

constexpr std::string_view kMask = "***";

struct OptionsDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

struct ErrorDeleter {
  void operator()(char* p) const { PQfreemem(p); }
};

/// libpq's parse errors (fe-connect.c, PostgreSQL 15), matched by a fragment that quotes
/// nothing, and what to tell the user instead. libpq's own text quotes the offending part of
/// the DSN: a bad %-escape quotes the whole password, a stray quote the password's tail.
constexpr std::array<std::pair<std::string_view, std::string_view>, 10> kParseErrors = {{
    {"missing \"=\" after",
     "a word is not followed by \"=\"; a value holding spaces or quotes must be quoted, e.g. "
     "password='a b\\'c' (escape ' and \\ with \\)"},
    {"unterminated quoted string", "a quoted value has no closing quote"},
    {"invalid connection option",
     "a keyword is not a libpq connection parameter (e.g. host, port, dbname, user, password, "
     "sslmode); the keyword is not shown in case it is part of a mis-quoted password"},
    {"invalid percent-encoded token",
     "a % is not followed by two hex digits; write a literal % in a URI as %25"},
    {"forbidden value %00", "a URI value contains %00, which libpq does not accept"},
    {"extra key/value separator",
     "a URI query parameter has a second \"=\"; percent-encode = in values as %3D"},
    {"missing key/value separator", "a URI query parameter has no \"=\""},
    {"invalid URI query parameter",
     "a URI query parameter is not a libpq connection parameter (e.g. sslmode, "
     "application_name); the name is not shown in case it is part of a password"},
    {"IPv6 host address", "an IPv6 host in the URI is empty or lacks its closing \"]\""},
    {"unexpected character", "the URI's host part has an unexpected character"},
}};

std::string describe_parse_error(std::string_view libpq_message) {
  for (const auto& [fragment, description] : kParseErrors) {
    if (libpq_message.find(fragment) != std::string_view::npos) return std::string(description);
  }
  return "libpq cannot parse it (its message is not shown: it may quote the password)";
}

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\'' ||
        c == '\\') {
      return true;
    }
  }
  return false;
}

/// `value` as a conninfo value: quoted with ' and \ escaped when it needs quotes.
std::string conninfo_value(std::string_view value) {
  if (!needs_quotes(value)) return std::string(value);
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace

const std::string* ParsedDsn::find(std::string_view keyword) const {
  for (const auto& o : options) {
    if (o.keyword == keyword) return &o.value;
  }
  return nullptr;
}

ParsedDsn parse_dsn(std::string_view dsn) {
  ParsedDsn parsed;
  const std::string text(dsn);
  char* raw_error = nullptr;
  std::unique_ptr<PQconninfoOption, OptionsDeleter> options(
      PQconninfoParse(text.c_str(), &raw_error));
  std::unique_ptr<char, ErrorDeleter> error(raw_error);
  if (!options) {
    parsed.error = error ? describe_parse_error(error.get()) : "libpq ran out of memory parsing it";
    return parsed;
  }
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val != nullptr) parsed.options.push_back(DsnOption{o->keyword, o->val});
  }
  return parsed;
}

bool is_secret_dsn_keyword(std::string_view keyword) {
  return keyword == "password" || keyword == "sslpassword";
}

std::string redact_dsn(std::string_view dsn) {
  ParsedDsn parsed = parse_dsn(dsn);
  if (!parsed.error.empty()) return "(not shown: libpq cannot parse it)";
  // Where to connect first, as people write it; the rest in libpq's order.
  constexpr std::array<std::string_view, 6> kFirst = {"host",   "hostaddr", "port",
                                                      "dbname", "user",     "password"};
  const auto rank = [&](const DsnOption& o) {
    return std::find(kFirst.begin(), kFirst.end(), o.keyword) - kFirst.begin();
  };
  std::stable_sort(parsed.options.begin(), parsed.options.end(),
                   [&](const DsnOption& a, const DsnOption& b) { return rank(a) < rank(b); });
  std::string out;
  for (const auto& o : parsed.options) {
    if (!out.empty()) out += ' ';
    out += o.keyword;
    out += '=';
    out += is_secret_dsn_keyword(o.keyword) ? std::string(kMask) : conninfo_value(o.value);
  }
  return out;
}

bool dsn_has_password(std::string_view dsn) {
  return parse_dsn(dsn).find("password") != nullptr;
}

std::string dsn_syntax_error(std::string_view dsn) {
  if (dsn.find_first_not_of(" \t\r\n") == std::string_view::npos) return "it is empty";
  return parse_dsn(dsn).error;
}

std::string mask_secret(std::string_view text, std::string_view secret) {
  if (secret.size() < 3) return std::string(text);
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t at = text.find(secret, pos);
    if (at == std::string_view::npos) break;
    out += text.substr(pos, at - pos);
    out += kMask;
    pos = at + secret.size();
  }
  out += text.substr(pos);
  return out;
}

std::string dsn_with_parameter(std::string_view dsn, std::string_view key, std::string_view value) {
  std::string out(dsn);
  if (dsn.starts_with("postgresql://") || dsn.starts_with("postgres://")) {
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
  out += '=';
  out += conninfo_value(value);
  return out;
}

}  // namespace modsync::config
