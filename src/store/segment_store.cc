#include "store/segment_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/file_util.h"

namespace tapvault::store {
namespace {

using base::ErrnoStatus;
using base::JoinPath;

class FileSegmentStore final : public SegmentStore {
 public:
  explicit FileSegmentStore(std::string dir) : dir_(std::move(dir)) {}
  ~FileSegmentStore() override {
    absl::MutexLock l(&mu_);
    for (auto& [name, fd] : open_) ::close(fd);
  }

  absl::Status Create(const std::string& name, std::string_view header) override {
    const std::string path = JoinPath(dir_, name);
    RETURN_IF_ERROR(base::MakeDirs(base::DirName(path), 0700));
    Forget(name);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoStatus(errno, "create", path);
    absl::Status s = base::PWriteAll(fd, header, 0, path);
    if (s.ok() && ::fdatasync(fd) != 0) s = ErrnoStatus(errno, "fdatasync", path);
    if (!s.ok()) {
      ::close(fd);
      return s;
    }
    {
      absl::MutexLock l(&mu_);
      open_[name] = fd;
    }
    return base::SyncDir(base::DirName(path));
  }

  absl::Status Write(const std::string& name, uint64_t offset, std::string_view bytes) override {
    ASSIGN_OR_RETURN(int fd, WriteHandle(name));
    return base::PWriteAll(fd, bytes, offset, JoinPath(dir_, name));
  }

  absl::Status Sync(const std::string& name) override {
    ASSIGN_OR_RETURN(int fd, WriteHandle(name));
    if (::fdatasync(fd) != 0) return ErrnoStatus(errno, "fdatasync", JoinPath(dir_, name));
    return absl::OkStatus();
  }

  absl::Status Seal(const std::string& name) override {
    int fd = -1;
    {
      absl::MutexLock l(&mu_);
      auto it = open_.find(name);
      if (it == open_.end()) return absl::OkStatus();   // never written in this run
      fd = it->second;
      open_.erase(it);
    }
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus(err, "fsync", JoinPath(dir_, name));
    return absl::OkStatus();
  }

  absl::Status Truncate(const std::string& name, uint64_t size) override {
    const std::string path = JoinPath(dir_, name);
    ASSIGN_OR_RETURN(int fd, WriteHandle(name));
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return ErrnoStatus(errno, "truncate", path);
    if (::fsync(fd) != 0) return ErrnoStatus(errno, "fsync", path);
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& name) override {
    Forget(name);
    const std::string path = JoinPath(dir_, name);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "unlink", path);
    return base::SyncDir(base::DirName(path));
  }

  absl::Status Read(const std::string& name, uint64_t offset, size_t n, char* out) override {
    const std::string path = JoinPath(dir_, name);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open", path);
    absl::Status s = base::PReadAll(fd, out, n, offset, path);
    ::close(fd);
    return s;
  }

  absl::StatusOr<uint64_t> Size(const std::string& name) override {
    const std::string path = JoinPath(dir_, name);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return absl::NotFoundError(base::StrCat("segment ", name, " is missing"));
      return ErrnoStatus(errno, "stat", path);
    }
    return static_cast<uint64_t>(st.st_size);
  }

  absl::StatusOr<std::vector<std::string>> List() override {
    std::vector<std::string> out;
    const std::string root = JoinPath(dir_, "segments");
    DIR* d = ::opendir(root.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) return out;
      return ErrnoStatus(errno, "opendir", root);
    }
    while (dirent* e = ::readdir(d)) {
      const std::string sub = e->d_name;
      if (sub == "." || sub == "..") continue;
      if (DIR* d2 = ::opendir(JoinPath(root, sub).c_str())) {
        while (dirent* f = ::readdir(d2)) {
          const std::string file = f->d_name;
          if (file.size() < 4 || file.substr(file.size() - 4) != ".seg") continue;
          out.push_back("segments/" + sub + "/" + file);
        }
        ::closedir(d2);
      }
    }
    ::closedir(d);
    return out;
  }

 private:
  // The cached read-write descriptor of `name`, opened on first use.
  absl::StatusOr<int> WriteHandle(const std::string& name) {
    absl::MutexLock l(&mu_);
    auto it = open_.find(name);
    if (it != open_.end()) return it->second;
    const std::string path = JoinPath(dir_, name);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open", path);
    open_[name] = fd;
    return fd;
  }
  void Forget(const std::string& name) {
    absl::MutexLock l(&mu_);
    auto it = open_.find(name);
    if (it == open_.end()) return;
    ::close(it->second);
    open_.erase(it);
  }

  const std::string dir_;
  absl::Mutex mu_;
  std::map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<SegmentStore> NewFileSegmentStore(std::string store_dir) {
  return std::make_unique<FileSegmentStore>(std::move(store_dir));
}

}  // namespace tapvault::store
