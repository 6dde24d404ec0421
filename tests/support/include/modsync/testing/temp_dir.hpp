#pragma once

#include <filesystem>
#include <string_view>

namespace modsync::testing {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
/// Mode 0755, so that the postgres OS user can traverse it when tests run as root.
/// Move-only; the moved-from object owns nothing. Not thread-safe (a plain value).
class TempDir {
 public:
  /// Creates "<tmp>/<prefix>-XXXXXX". Throws std::runtime_error if it cannot.
  explicit TempDir(std::string_view prefix = "modsync-test");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// path() / name, for convenience.
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  void remove() noexcept;

  std::filesystem::path path_;
};

}  // namespace modsync::testing
