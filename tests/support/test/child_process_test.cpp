#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "modsync/testing/child_process.hpp"
#include "modsync/testing/eventually.hpp"
#include "modsync/testing/temp_dir.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using modsync::testing::ChildProcess;
using modsync::testing::eventually;
using modsync::testing::run_command;
using modsync::testing::TempDir;

TEST_CASE("TempDir is traversable and removes itself", "[support]") {
  std::filesystem::path kept;
  {
    TempDir dir("support-test");
    kept = dir.path();
    CHECK(std::filesystem::is_directory(kept));
    CHECK((std::filesystem::status(kept).permissions() & std::filesystem::perms::others_exec) !=
          std::filesystem::perms::none);
    std::filesystem::create_directories(dir / "a" / "b");
    TempDir moved = std::move(dir);
    CHECK(moved.path() == kept);
  }
  CHECK_FALSE(std::filesystem::exists(kept));
}

TEST_CASE("ChildProcess captures output, environment and exit status", "[support]") {
  TempDir cwd;
  ChildProcess::Options options;
  options.env = {{"MODSYNC_GREETING", "hello there"}};
  options.cwd = cwd.path();
  ChildProcess sh({"/bin/sh", "-c", "echo \"$MODSYNC_GREETING\"; pwd; echo oops >&2; exit 3"},
                  options);
  CHECK(sh.read_first_line(10s) == "hello there");
  CHECK(sh.wait(10s) == 3);
  CHECK(sh.stdout_text() == "hello there\n" + cwd.path().string() + "\n");
  CHECK(sh.stderr_text() == "oops\n");
  CHECK_FALSE(sh.running());
  CHECK_THAT(sh.describe(), Contains("exited with status 3") && Contains("oops"));
}

TEST_CASE("ChildProcess waits for output and can be signalled", "[support]") {
  ChildProcess sh({"/bin/sh", "-c", "echo starting; sleep 0.2; echo ready >&2; exec sleep 60"});
  CHECK(sh.wait_for_output("ready", 10s));
  CHECK(sh.running());
  CHECK_FALSE(sh.wait(50ms));
  sh.signal(SIGTERM);
  CHECK(sh.wait(10s) == 128 + SIGTERM);
  sh.kill();  // after reaping: a no-op, never a stray signal to a recycled pid
  CHECK(sh.wait(0ms) == 128 + SIGTERM);
}

TEST_CASE("ChildProcess reports early exit and a missing program", "[support]") {
  ChildProcess quiet({"/bin/sh", "-c", "exit 0"});
  CHECK_FALSE(quiet.read_first_line(10s));  // exited without a line: no need to wait 10 s
  CHECK_FALSE(quiet.wait_for_output("never", 10s));
  CHECK_THROWS_WITH(ChildProcess({"/nonexistent/modsync"}),
                    Contains("cannot start '/nonexistent/modsync': No such file or directory"));
}

TEST_CASE("ChildProcess destructor kills a running child", "[support]") {
  pid_t pid = 0;
  {
    ChildProcess sleeper({"sleep", "60"});
    pid = sleeper.pid();
    CHECK(::kill(pid, 0) == 0);
  }
  // Reaped by the destructor, so the pid no longer exists (not even as a zombie).
  CHECK(::kill(pid, 0) == -1);
}

TEST_CASE("signal and wait may be called from different threads", "[support]") {
  ChildProcess sleeper({"sleep", "60"});
  std::thread killer([&] {
    std::this_thread::sleep_for(50ms);
    sleeper.kill();
  });
  CHECK(sleeper.wait(10s) == 128 + SIGKILL);
  killer.join();
}

TEST_CASE("run_command returns status and output and eventually polls", "[support]") {
  const auto r = run_command({"/bin/sh", "-c", "printf out; printf err >&2; exit 2"});
  CHECK(r.status == 2);
  CHECK(r.out == "out");
  CHECK(r.err == "err");
  CHECK_THROWS_WITH(run_command({"sleep", "10"}, {}, 100ms), Contains("timed out after 100 ms"));

  int calls = 0;
  CHECK(eventually([&] { return ++calls == 3; }, 5s, 1ms));
  CHECK(calls == 3);
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(eventually([] { return false; }, 100ms, 10ms));
  CHECK(std::chrono::steady_clock::now() - start >= 100ms);
}
