// Loading files and directories: reading the YAML documents, one PairParser per file, and the
// checks across files (unique daemon ids).

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "modsync/common/json_string.hpp"
#include "modsync/config/config.hpp"
#include "pair_parser.hpp"
#include "yaml_reader.hpp"

namespace modsync::config {

namespace {

using detail::PairParser;
using detail::YamlReader;

struct Parsed {
  PairConfig pair;
  Location id_location;
};

/// Remembers where a document's first node starts; ignores everything else.
class FirstMark : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> mark;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { see(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { see(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    see(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    see(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    see(m);
  }
  void OnMapEnd() override {}

 private:
  void see(const YAML::Mark& m) {
    if (!mark) mark = m;
  }
};

struct Documents {
  YAML::Node first;
  std::optional<YAML::Mark> second;  ///< where a second document starts, if there is one
};

/// The file's first document, and whether a second follows. Not YAML::LoadAll: yaml-cpp 0.7
/// (Debian 12) returns a null document without consuming anything for a document that starts
/// with ',' (jbeder/yaml-cpp#1040, fixed upstream by #1319), so LoadAll of "," never returns
/// and fills memory. Here the parser is asked for two documents at most. Throws
/// YAML::Exception on a syntax error.
Documents load_documents(const std::string& content) {
  Documents docs;
  docs.first = YAML::Load(content);
  std::istringstream in(content);
  YAML::Parser parser(in);
  FirstMark first, second;
  if (parser.HandleNextDocument(first) && parser.HandleNextDocument(second)) {
    docs.second = second.mark.value_or(YAML::Mark());
  }
  return docs;
}

/// Whether `content` holds nothing but blanks and comments.
bool blank_yaml(std::string_view content) {
  bool comment = false;
  for (char c : content) {
    if (c == '\n')
      comment = false;
    else if (c == '#')
      comment = true;
    else if (!comment && c != ' ' && c != '\t' && c != '\r')
      return false;
  }
  return true;
}

/// Parses one file, appending its problems to `out`.
Parsed parse_file(const std::filesystem::path& file, const EnvLookup& env,
                  std::vector<Diagnostic>& out) {
  Parsed parsed;
  parsed.pair.file = file;
  const std::string name = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    out.push_back(Diagnostic{name, 0, 0, "",
                             "expected a readable configuration file; got none. Fix: check the "
                             "path and its permissions."});
    return parsed;
  }
  std::stringstream content;
  content << in.rdbuf();
  Documents docs;
  try {
    docs = load_documents(content.str());
  } catch (const YAML::Exception& e) {
    out.push_back(Diagnostic{name, e.mark.line + 1, e.mark.column + 1, "",
                             fmt::format("expected valid YAML; got a syntax error ({}). Fix: "
                                         "correct the YAML at this position.",
                                         e.msg)});
    return parsed;
  }
  YamlReader reader(name, env, out);
  if (!docs.first || docs.first.IsNull()) {
    out.push_back(Diagnostic{
        name, 0, 0, "",
        fmt::format("expected a module pair with daemon, kafka and source or sink; got {}. Fix: "
                    "start from config/examples/capture-only.yaml.",
                    blank_yaml(content.str()) ? "an empty file"
                                              : "a document that reads as empty (null)")});
    return parsed;
  }
  if (docs.second) {
    reader.expected(*docs.second, "", "one YAML document per file", "a second document",
                    "move each module pair into its own file");
  }
  const size_t first = out.size();
  PairParser parser(reader, file);
  parsed.pair = parser.parse(docs.first);
  parsed.id_location = parser.id_location();
  // Keys are checked before values, so sort to present problems in reading order.
  std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                   });
  return parsed;
}

bool is_config_file(const std::filesystem::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  const std::string ext = entry.path().extension().string();
  return entry.is_regular_file() && !name.starts_with(".") && (ext == ".yaml" || ext == ".yml");
}

}  // namespace

PairConfig load_file(const std::filesystem::path& file, const EnvLookup& env) {
  std::vector<Diagnostic> diagnostics;
  Parsed parsed = parse_file(file, env, diagnostics);
  if (!diagnostics.empty()) throw ConfigError(std::move(diagnostics));
  return std::move(parsed.pair);
}

std::vector<PairConfig> load_path(const std::filesystem::path& path, const EnvLookup& env) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return {load_file(path, env)};

  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (is_config_file(entry)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.filename() < b.filename(); });
  std::vector<Diagnostic> diagnostics;
  if (ec) {
    diagnostics.push_back(Diagnostic{path.string(), 0, 0, "",
                                     fmt::format("expected a readable directory; got an error "
                                                 "({}). Fix: check its permissions.",
                                                 ec.message())});
    throw ConfigError(std::move(diagnostics));
  }
  if (files.empty()) {
    diagnostics.push_back(Diagnostic{path.string(), 0, 0, "",
                                     "expected at least one *.yaml or *.yml file; got none. Fix: "
                                     "add a configuration file or pass a file path."});
    throw ConfigError(std::move(diagnostics));
  }
  std::vector<PairConfig> pairs;
  std::map<std::string, Location> ids;
  for (const auto& file : files) {
    Parsed parsed = parse_file(file, env, diagnostics);
    const std::string& id = parsed.pair.daemon.id;
    if (!id.empty()) {
      auto [it, inserted] = ids.emplace(id, parsed.id_location);
      if (!inserted) {
        const Location& first = it->second;
        diagnostics.push_back(Diagnostic{
            parsed.id_location.file, parsed.id_location.line, parsed.id_location.column,
            "daemon.id",
            fmt::format("expected an id unique across {}; got {}, already used by {}:{}:{}. Fix: "
                        "give each file its own daemon.id.",
                        path.string(), json_quoted(id), first.file, first.line, first.column)});
      }
    }
    pairs.push_back(std::move(parsed.pair));
  }
  if (!diagnostics.empty()) throw ConfigError(std::move(diagnostics));
  return pairs;
}

}  // namespace modsync::config
