// Shared helpers of the integration tests: run the real `tapvault` binary (serve as a child
// process with its ready line; other subcommands to completion), read metrics, make a PKI with the
// openssl CLI. Test code: failures are reported by the tests' assertions.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <httplib.h>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"

namespace tapvault::itest {

namespace fs = std::filesystem;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The environment the test helper sets; fall back to the tree layout when a CMake version
// passes only the first variable of the ENVIRONMENT list (gtest_discover_tests).
inline fs::path SharedDir() {
  if (const char* d = std::getenv("TAPVAULT_SHARED_DIR")) return d;
  if (const char* s = std::getenv("TAPVAULT_SOURCE_DIR")) return fs::path(s) / "testdata";
  return TAPVAULT_TEST_SHARED_DIR;
}
inline std::string Binary() {
  if (const char* b = std::getenv("TAPVAULT_BINARY")) return b;
  // <build>/tests/integration/serve_integration_test -> <build>/tapvault
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (self.parent_path().parent_path().parent_path() / "tapvault").string();
}

class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args) {
    dir_ = fs::temp_directory_path() /
           ("tv_serve_" + std::to_string(getpid()) + "_" + std::to_string(counter_++) + "_" +
            std::to_string(Clock::now().time_since_epoch().count()));
    fs::create_directories(dir_);
    int out[2];
    if (pipe(out) != 0) return;
    std::string binary = Binary();
    std::string err = (dir_ / "stderr.log").string();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      int fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      close(out[0]);
      std::vector<char*> argv;
      argv.push_back(binary.data());
      std::string serve = "serve";
      argv.push_back(serve.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      dprintf(2, "exec %s failed: %s\n", binary.c_str(), strerror(errno));
      _exit(127);
    }
    close(out[1]);
    out_fd_ = out[0];
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }

  // The ready line, parsed; null on timeout.
  nlohmann::json WaitReady(int timeout_ms = 15000) {
    std::string line;
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      if (read(out_fd_, &c, 1) != 1) break;
      if (c == '\n') return nlohmann::json::parse(line, nullptr, false);
      line.push_back(c);
    }
    return nullptr;
  }
  // SIGTERM, then the exit code (-1 on timeout / abnormal end).
  int Terminate(int timeout_ms = 15000) {
    kill(pid_, SIGTERM);
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      int status;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  std::string Stderr() const { return Slurp(dir_ / "stderr.log"); }

 private:
  static inline int counter_ = 0;
  fs::path dir_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool exited_ = false;
};

inline tcp::endpoint Endpoint(const std::string& addr) {
  size_t c = addr.rfind(':');
  return {asio::ip::make_address(addr.substr(0, c)),
          static_cast<uint16_t>(std::stoi(addr.substr(c + 1)))};
}

// Value of one metric line ("name{labels}"), 0 if absent.
inline double Metric(const std::string& metrics_addr, const std::string& series) {
  size_t c = metrics_addr.rfind(':');
  httplib::Client cli(metrics_addr.substr(0, c), std::stoi(metrics_addr.substr(c + 1)));
  auto res = cli.Get("/metrics");
  if (!res || res->status != 200) return -1;
  std::istringstream in(res->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

// Polls until the metric reaches `want` (or the deadline); returns the last value.
inline double WaitMetric(const std::string& addr, const std::string& series, double want,
                  int timeout_ms = 10000) {
  double v = 0;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    v = Metric(addr, series);
    if (v >= want) return v;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return v;
}

inline std::vector<fs::path> Files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  }
  return out;
}

inline int Run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

struct Pki {
  fs::path dir;
  bool ok = false;
  explicit Pki(const fs::path& d) : dir(d) {
    fs::create_directories(dir);
    std::string D = dir.string();
    auto key = [&](const std::string& n) {
      return Run("openssl ecparam -name prime256v1 -genkey -noout -out " + D + "/" + n + ".key");
    };
    auto sign = [&](const std::string& n, const std::string& cn) {
      return Run("openssl req -new -key " + D + "/" + n + ".key -subj /CN=" + cn + " -out " + D +
                 "/" + n + ".csr") == 0 &&
             Run("openssl x509 -req -in " + D + "/" + n + ".csr -CA " + D + "/ca.crt -CAkey " + D +
                 "/ca.key -CAcreateserial -days 2 -out " + D + "/" + n + ".crt") == 0;
    };
    ok = key("ca") == 0 &&
         Run("openssl req -x509 -new -key " + D + "/ca.key -subj /CN=test-ca -days 2 -out " + D +
             "/ca.crt") == 0 &&
         key("server") == 0 && sign("server", "localhost") && key("med1") == 0 &&
         sign("med1", "med-1") && key("rogue") == 0 && sign("rogue", "rogue");
  }
  std::string P(const std::string& f) const { return (dir / f).string(); }
};


// A unique temporary directory name (not created).
inline fs::path TempPath(const std::string& prefix) {
  static int counter = 0;
  return fs::temp_directory_path() /
         (prefix + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(Clock::now().time_since_epoch().count()));
}

// Runs `tapvault ARGS...` to completion; returns its exit code and stdout (stderr to `err`).
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// `text` as one word for sh: single-quoted, with each ' written as '\''.
inline std::string ShellWord(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// With extra environment variables, e.g. {{"TAPVAULT_TOKEN", t}}.
inline RunResult RunTapvaultEnv(const std::vector<std::pair<std::string, std::string>>& env,
                                const std::vector<std::string>& args) {
  fs::path dir = TempPath("tv_run_");
  fs::create_directories(dir);
  std::string cmd;
  if (!env.empty()) {
    cmd = "env";
    for (const auto& [k, v] : env) cmd += " " + k + "=" + ShellWord(v);
    cmd += " ";
  }
  cmd += ShellWord(Binary());
  for (const auto& a : args) cmd += " " + ShellWord(a);
  cmd += " >'" + (dir / "out").string() + "' 2>'" + (dir / "err").string() + "' </dev/null";
  int st = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = Slurp(dir / "out");
  r.err = Slurp(dir / "err");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return r;
}
inline RunResult RunTapvault(const std::vector<std::string>& args) { return RunTapvaultEnv({}, args); }

// The people of a test store, made through the CLI as an operator would: `user bootstrap` makes
// the first administrator ("admin", with its first API token), who appoints the second
// ("admin-2"); every other person gets their roles and teams asked for by the first and approved
// by the second (four eyes), and an API token.
// As(who, args) runs the binary as that person (TAPVAULT_TOKEN).
struct Person {
  std::string name;
  std::vector<std::string> roles, teams;
};
class People {
 public:
  // "" when everything was made, else what failed (for ASSERT_EQ(people.Setup(...), "")).
  // The two administrators are named `admin` and `second_admin`.
  std::string Setup(const std::string& data, const std::vector<Person>& people,
                    const std::string& admin = "admin", const std::string& second_admin = "admin-2") {
    data_ = data;
    const std::pair<std::string, std::string> pw{"TAPVAULT_NEW_PASSWORD", "a password for the test"};
    RunResult boot = RunTapvaultEnv({pw}, {"user", "bootstrap", "--data", data, "--name", admin});
    if (boot.exit_code != 0) return "bootstrap: " + boot.err;
    auto j = nlohmann::json::parse(boot.out, nullptr, false);
    if (!j.is_object() || !j.contains("token")) return "bootstrap printed no token: " + boot.out;
    tokens_[admin] = j["token"].get<std::string>();
    auto user = [&](const std::string& who, std::vector<std::string> args) -> RunResult {
      args.insert(args.begin(), "user");
      args.push_back("--data");
      args.push_back(data);
      return RunTapvaultEnv({pw, {"TAPVAULT_TOKEN", tokens_.at(who)}}, args);
    };
    std::string failed;
    auto check = [&](const char* what, const RunResult& r) {
      if (r.exit_code != 0 && failed.empty()) failed = std::string(what) + ": " + r.err;
      return r;
    };
    auto token = [&](const std::string& name) {
      RunResult t = check("token", user(admin, {"token", "create", "--name", name, "--token-name",
                                                "test", "--expires", "1d"}));
      auto tj = nlohmann::json::parse(t.out, nullptr, false);
      if (tj.is_object() && tj.contains("token")) tokens_[name] = tj["token"].get<std::string>();
    };
    check("add second admin", user(admin, {"add", "--name", second_admin}));
    check("second-admin", user(admin, {"second-admin", "--name", second_admin}));
    token(second_admin);
    auto grant = [&](const std::string& who, const char* kind, const std::string& what) {
      RunResult r = check("grant", user(admin, {"grant", "--name", who, kind, what}));
      auto rj = nlohmann::json::parse(r.out, nullptr, false);
      if (!rj.is_object() || !rj.contains("request")) return;
      check("approve", user(second_admin, {"approve", "--request",
                                           std::to_string(rj["request"].get<uint64_t>())}));
    };
    for (const Person& p : people) {
      check("add", user(admin, {"add", "--name", p.name}));
      for (const std::string& r : p.roles) grant(p.name, "--role", r);
      for (const std::string& t : p.teams) grant(p.name, "--team", t);
      token(p.name);
    }
    return failed;
  }
  RunResult As(const std::string& who, const std::vector<std::string>& args) const {
    return RunTapvaultEnv({{"TAPVAULT_TOKEN", Token(who)}}, args);
  }
  const std::string& Token(const std::string& who) const { return tokens_.at(who); }

 private:
  std::string data_;
  std::map<std::string, std::string> tokens_;
};

}  // namespace tapvault::itest

namespace tapvault::itest {

// `tapvault ARGS...` as a child process that a test may kill at any moment (crash tests): stdout
// and stderr go to files in the child's own temporary directory (so nothing blocks on a pipe the
// test stopped reading), the pid is available for signals, and the exit status can be collected
// with a deadline. The destructor SIGKILLs a child still running and removes the directory.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    dir_ = TempPath("tv_child_");
    fs::create_directories(dir_);
    std::string binary = Binary();
    std::string out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    std::vector<std::string> argv_s = {binary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    pid_ = fork();
    if (pid_ == 0) {
      int in = open("/dev/null", O_RDONLY);
      int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(in, 0);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> argv;
      for (auto& a : argv_s) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      dprintf(2, "exec %s failed: %s\n", binary.c_str(), strerror(errno));
      _exit(127);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  pid_t pid() const { return pid_; }
  std::string Stdout() const { return Slurp(dir_ / "stdout"); }
  std::string Stderr() const { return Slurp(dir_ / "stderr"); }

  // The first stdout line parsed as JSON (serve's ready line); null on timeout or early exit.
  nlohmann::json WaitReady(int timeout_ms = 15000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      std::string out = Stdout();
      size_t nl = out.find('\n');
      if (nl != std::string::npos) return nlohmann::json::parse(out.substr(0, nl), nullptr, false);
      if (!Running()) return nullptr;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return nullptr;
  }

  void Kill(int sig) {
    if (pid_ > 0 && !exited_) kill(pid_, sig);
  }
  bool Running() {
    if (pid_ <= 0 || exited_) return false;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      Reap(status);
      return false;
    }
    return true;
  }
  // The exit code, 128 + signal if killed by one, -1 while still running at the deadline.
  int Wait(int timeout_ms = 15000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Running()) {
      if (Clock::now() >= deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return code_;
  }
  int exit_code() const { return code_; }

 private:
  void Reap(int status) {
    exited_ = true;
    code_ = WIFEXITED(status) ? WEXITSTATUS(status)
                              : (WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1);
  }
  fs::path dir_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int code_ = -1;
};

// Lines of a text file (no trailing empty line).
inline std::vector<std::string> Lines(const fs::path& p) {
  std::vector<std::string> out;
  std::istringstream in(Slurp(p));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// How often `needle` occurs in `haystack`.
inline size_t CountOf(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

}  // namespace tapvault::itest

namespace tapvault::itest {
// The last non-empty line of `text` (a command's JSON summary line).
inline std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of('\n');
  if (end == std::string::npos) return {};
  size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}
}  // namespace tapvault::itest

namespace tapvault::itest {
// Polls `pred` every 20 ms until it holds or `timeout_ms` passed; its last value.
inline bool WaitUntil(const std::function<bool()>& pred, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}
}  // namespace tapvault::itest
