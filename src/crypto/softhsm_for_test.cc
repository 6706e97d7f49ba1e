#include "crypto/softhsm_for_test.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "base/hex.h"
#include "base/strings.h"
#include "crypto/aead.h"

extern char** environ;

namespace tapvault::crypto {
namespace {

ABSL_CONST_INIT absl::Mutex g_mu(absl::kConstInit);
std::string* g_dir ABSL_GUARDED_BY(g_mu) = nullptr;

void RemoveDir() {
  absl::MutexLock l(&g_mu);
  if (g_dir == nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(*g_dir, ec);
}

absl::Status SetUpDir() ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_mu) {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl =
      base::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/tapvault-softhsm-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, base::StrCat("softhsm: mkdtemp ", tmpl));
  }
  const std::string tokens = tmpl + "/tokens";
  if (mkdir(tokens.c_str(), 0700) != 0) {
    return absl::ErrnoToStatus(errno, base::StrCat("softhsm: mkdir ", tokens));
  }
  const std::string conf = tmpl + "/softhsm2.conf";
  {
    std::ofstream f(conf);
    f << "directories.tokendir = " << tokens << "\n"
      << "objectstore.backend = file\n"
      << "log.level = ERROR\n"
      << "slots.removable = false\n";
    if (!f.flush()) return absl::InternalError(base::StrCat("softhsm: cannot write ", conf));
  }
  // Read by softhsm2-util and by the module at C_Initialize, both of which come after this.
  setenv("SOFTHSM2_CONF", conf.c_str(), /*overwrite=*/1);
  g_dir = new std::string(tmpl);
  static const bool registered = (std::atexit(RemoveDir), true);
  (void)registered;
  return absl::OkStatus();
}

// Runs softhsm2-util with `args`, its output going to `log`.
absl::Status RunSoftHsmUtil(std::vector<std::string> args, const std::string& log) {
  args.insert(args.begin(), "softhsm2-util");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int err = posix_spawnp(&pid, "softhsm2-util", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err == ENOENT) {
    return absl::FailedPreconditionError(
        "softhsm: softhsm2-util is not installed (run scripts/install-deps)");
  }
  if (err != 0) return absl::ErrnoToStatus(err, "softhsm: cannot run softhsm2-util");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::ErrnoToStatus(errno, "softhsm: waitpid");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream f(log);
    std::stringstream out;
    out << f.rdbuf();
    return absl::InternalError(
        base::StrCat("softhsm: softhsm2-util failed (status ", status, "): ", out.str()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> NewSoftHsmMasterKeyUriForTest() {
  absl::MutexLock l(&g_mu);
  if (g_dir == nullptr) {
    if (absl::Status s = SetUpDir(); !s.ok()) return s;
    if (absl::Status s =
            RunSoftHsmUtil({"--init-token", "--free", "--label", kSoftHsmTokenLabelForTest, "--pin",
                            kSoftHsmUserPinForTest, "--so-pin", kSoftHsmSoPinForTest},
                           *g_dir + "/softhsm2-util.log");
        !s.ok()) {
      // Do not leave a half-made setup for the next call to trust.
      std::error_code ec;
      std::filesystem::remove_all(*g_dir, ec);
      delete g_dir;
      g_dir = nullptr;
      return s;
    }
  }
  return base::StrCat("pkcs11:token=", kSoftHsmTokenLabelForTest, ";object=tapvault-master-",
                      base::ToHex(base::AsBytes(RandomBytes(8))),
                      "?module-path=", kSoftHsmModulePathForTest,
                      "&pin-value=", kSoftHsmUserPinForTest);
}

std::string SoftHsmDirForTest() {
  absl::MutexLock l(&g_mu);
  return g_dir != nullptr ? *g_dir : std::string();
}

}  // namespace tapvault::crypto
