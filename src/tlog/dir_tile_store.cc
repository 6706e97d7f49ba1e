#include "tlog/dir_tile_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "base/strings.h"

namespace tapvault::tlog {

namespace fs = std::filesystem;

namespace {

constexpr size_t kHashBytes = 32;
constexpr std::string_view kTempMarker = ".tmp.";  // in the names of files being written

absl::Status ErrnoError(std::string_view what, const std::string& path, int err) {
  std::string msg = base::StrCat("tlog: ", what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(msg);
  return absl::InternalError(msg);
}

absl::Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open for fsync", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync", path, err);
  return absl::OkStatus();
}

// Creates `dir` and its missing parents; when `durable`, fsyncs the parent of each one created
// so that the new directory entries survive a crash.
absl::Status MakeDirs(const fs::path& dir, bool durable) {
  std::vector<fs::path> missing;
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) break;
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError("mkdir", it->string(), errno);
    }
    if (durable) {
      fs::path parent = it->parent_path();
      RETURN_IF_ERROR(FsyncPath(parent.empty() ? "." : parent.string()));
    }
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, base::Bytes data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

bool ParseDecimal(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

bool Parse3(std::string_view s, uint64_t& out) { return s.size() == 3 && ParseDecimal(s, out); }

// A file of the store, from its path relative to the root ("tile/3/x001/234.p/7").
struct ParsedPath {
  bool entries = false;
  int level = 0;
  uint64_t index = 0;
  uint64_t width = kTileWidth;
};

std::optional<ParsedPath> ParseRelPath(const fs::path& rel) {
  std::vector<std::string> parts;
  for (const auto& p : rel) parts.push_back(p.string());
  if (parts.size() < 3 || parts[0] != "tile") return std::nullopt;
  ParsedPath out;
  uint64_t level;
  if (parts[1] == "entries") {
    out.entries = true;
  } else if (ParseDecimal(parts[1], level) && level < 8 && parts[1].size() == 1) {
    out.level = static_cast<int>(level);
  } else {
    return std::nullopt;
  }
  size_t end = parts.size();
  // Partial: ".../<DDD>.p/<W>".
  std::string last_group;
  if (end >= 4 && parts[end - 2].size() == 5 && parts[end - 2].ends_with(".p")) {
    uint64_t width;
    if (!ParseDecimal(parts[end - 1], width) || width == 0 || width >= kTileWidth ||
        parts[end - 1] != base::StrCat(width)) {
      return std::nullopt;
    }
    out.width = width;
    last_group = parts[end - 2].substr(0, 3);
    end -= 2;
  } else {
    last_group = parts[end - 1];
    end -= 1;
  }
  // Index groups: parts[2 .. end) are "xDDD", then last_group "DDD"; at most 7 groups in all.
  if (end - 2 > 6) return std::nullopt;
  unsigned __int128 index = 0;
  for (size_t i = 2; i < end; ++i) {
    uint64_t g;
    if (parts[i].size() != 4 || parts[i][0] != 'x' || !Parse3(parts[i].substr(1), g)) {
      return std::nullopt;
    }
    index = index * 1000 + g;
  }
  uint64_t g;
  if (!Parse3(last_group, g)) return std::nullopt;
  index = index * 1000 + g;
  if (index > UINT64_MAX) return std::nullopt;
  out.index = static_cast<uint64_t>(index);
  return out;
}

uint64_t WidthAt(int level, uint64_t index, uint64_t tree_size) {
  int bits = kTileHeight * level;
  uint64_t nodes = bits >= 64 ? 0 : tree_size >> bits;
  if (index >= (nodes >> kTileHeight) + 1) return 0;
  uint64_t first = index * kTileWidth;
  if (nodes <= first) return 0;
  return std::min<uint64_t>(kTileWidth, nodes - first);
}

// Length of the first `count` entries of a bundle, or nullopt if it has fewer or is malformed.
std::optional<size_t> BundlePrefix(std::string_view bundle, uint64_t count) {
  size_t pos = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (bundle.size() - pos < 2) return std::nullopt;
    size_t len = static_cast<uint8_t>(bundle[pos]) << 8 | static_cast<uint8_t>(bundle[pos + 1]);
    if (bundle.size() - pos - 2 < len) return std::nullopt;
    pos += 2 + len;
  }
  return pos;
}

absl::Status CheckWidth(uint64_t width) {
  if (width == 0 || width > kTileWidth) {
    return absl::InvalidArgumentError(base::StrCat("tlog: tile width ", width));
  }
  return absl::OkStatus();
}

}  // namespace

DirTileStore::DirTileStore(std::string root) : root_(std::move(root)) {}

absl::Status DirTileStore::WriteFile(const std::string& rel_path, base::Bytes data, bool durable) {
  static std::atomic<uint64_t> counter{0};
  fs::path path = fs::path(root_) / rel_path;
  fs::path dir = path.parent_path();
  RETURN_IF_ERROR(MakeDirs(dir, durable));
  std::string tmp = base::StrCat(path.string(), kTempMarker, static_cast<int64_t>(::getpid()), ".",
                                 counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create", tmp, errno);
  absl::Status st = WriteAll(fd, data, tmp);
  if (st.ok() && durable && ::fsync(fd) != 0) st = ErrnoError("fsync", tmp, errno);
  if (::close(fd) != 0 && st.ok()) st = ErrnoError("close", tmp, errno);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoError("rename", tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (durable) RETURN_IF_ERROR(FsyncPath(dir.string()));
  return absl::OkStatus();
}

absl::Status DirTileStore::WriteTile(int level, uint64_t index, uint64_t width, base::Bytes hashes,
                                     bool durable) {
  RETURN_IF_ERROR(CheckWidth(width));
  if (level < 0 || level >= 8) return absl::InvalidArgumentError("tlog: tile level");
  if (hashes.size() != width * kHashBytes) {
    return absl::InvalidArgumentError(
        base::StrCat("tlog: tile of width ", width, " with ", hashes.size(), " bytes"));
  }
  return WriteFile(TilePath(level, index, width), hashes, durable);
}

absl::Status DirTileStore::WriteEntries(uint64_t index, uint64_t width, base::Bytes bundle,
                                        bool durable) {
  RETURN_IF_ERROR(CheckWidth(width));
  return WriteFile(EntriesPath(index, width), bundle, durable);
}

absl::StatusOr<std::string> DirTileStore::ReadFile(const std::string& rel_path) {
  std::string path = (fs::path(root_) / rel_path).string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path, errno);
  std::string out;
  char buf[16384];
  absl::Status st;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      st = ErrnoError("read", path, errno);
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (kTileWidth + 1) * (2 + 65535)) {  // larger than any tile or bundle
      st = absl::DataLossError(base::StrCat("tlog: ", path, " is too large"));
      break;
    }
  }
  ::close(fd);
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<std::pair<std::string, uint64_t>> DirTileStore::ReadAtLeast(bool entries, int level,
                                                                           uint64_t index,
                                                                           uint64_t width) {
  auto path = [&](uint64_t w) {
    return entries ? EntriesPath(index, w) : TilePath(level, index, w);
  };
  absl::StatusOr<std::string> data = ReadFile(path(width));
  if (data.ok()) return std::pair(std::move(*data), width);
  if (!absl::IsNotFound(data.status()) || width == kTileWidth) return data.status();
  data = ReadFile(path(kTileWidth));
  if (data.ok()) return std::pair(std::move(*data), kTileWidth);
  if (!absl::IsNotFound(data.status())) return data.status();
  // The narrowest stored partial version wider than `width`: "<...>.p/<W>" siblings.
  std::string partial_dir = path(kTileWidth) + ".p";
  std::error_code ec;
  uint64_t best = 0;
  for (const auto& e : fs::directory_iterator(fs::path(root_) / partial_dir, ec)) {
    uint64_t w;
    std::string name = e.path().filename().string();
    if (ParseDecimal(name, w) && name == base::StrCat(w) && w > width && w < kTileWidth &&
        (best == 0 || w < best)) {
      best = w;
    }
  }
  if (best == 0) {
    return absl::NotFoundError(base::StrCat("tlog: no ", path(width), " in ", root_));
  }
  ASSIGN_OR_RETURN(std::string wider, ReadFile(path(best)));
  return std::pair(std::move(wider), best);
}

absl::StatusOr<std::string> DirTileStore::ReadTile(int level, uint64_t index, uint64_t width) {
  RETURN_IF_ERROR(CheckWidth(width));
  if (level < 0 || level >= 8) return absl::InvalidArgumentError("tlog: tile level");
  ASSIGN_OR_RETURN(auto found, ReadAtLeast(false, level, index, width));
  auto& [data, stored_width] = found;
  if (data.size() != stored_width * kHashBytes) {
    return absl::DataLossError(base::StrCat("tlog: ", TilePath(level, index, stored_width), " has ",
                                            data.size(), " bytes"));
  }
  data.resize(width * kHashBytes);
  return std::move(data);
}

absl::StatusOr<std::string> DirTileStore::ReadEntries(uint64_t index, uint64_t width) {
  RETURN_IF_ERROR(CheckWidth(width));
  ASSIGN_OR_RETURN(auto found, ReadAtLeast(true, 0, index, width));
  auto& [data, stored_width] = found;
  std::optional<size_t> all = BundlePrefix(data, stored_width);
  std::optional<size_t> prefix = BundlePrefix(data, width);
  if (!all || *all != data.size() || !prefix) {
    return absl::DataLossError(base::StrCat("tlog: ", EntriesPath(index, stored_width),
                                            " is not a bundle of ", stored_width, " entries"));
  }
  data.resize(*prefix);
  return std::move(data);
}

absl::Status DirTileStore::RemoveBeyond(uint64_t tree_size) {
  fs::path tile_root = fs::path(root_) / "tile";
  std::error_code ec;
  if (!fs::exists(tile_root, ec)) return absl::OkStatus();
  std::vector<fs::path> doomed;
  fs::recursive_directory_iterator it(tile_root, ec), end;
  if (ec) return ErrnoError("list", tile_root.string(), ec.value());
  for (; it != end; it.increment(ec)) {
    if (ec) return ErrnoError("list", tile_root.string(), ec.value());
    if (!it->is_regular_file(ec)) continue;
    const fs::path& p = it->path();
    if (p.filename().string().find(kTempMarker) != std::string::npos) {
      doomed.push_back(p);
      continue;
    }
    std::optional<ParsedPath> parsed = ParseRelPath(p.lexically_relative(root_));
    if (!parsed) continue;  // not ours: leave it alone
    uint64_t want = WidthAt(parsed->level, parsed->index, tree_size);
    if (parsed->width != want) doomed.push_back(p);
  }
  if (ec) return ErrnoError("list", tile_root.string(), ec.value());
  for (const fs::path& p : doomed) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return ErrnoError("remove", p.string(), errno);
  }
  return absl::OkStatus();
}

}  // namespace tapvault::tlog
