// Matcher layout (why): a list holds about a million numbers, and every party of every
// communication is looked up, so the index must be small and a lookup about one cache miss.
// - A number or prefix of n ≤ 15 digits is the key (n << 56) | value (10^15 < 2^50): equal keys
//   mean equal digit strings, and "reading starts with entry" becomes one exact probe per entry
//   length present in the list (key_lengths), with the value of the reading's first n digits.
// - Keys live in an open-addressing table (linear probing, load ≤ 0.75, 8 bytes a slot) with the
//   key's flags in its spare bits 50..55, so a probe reads one slot, usually one cache line.
//   (A sorted array with a sparse index costs 9 bytes an entry but 3-4 cache misses a probe.)
// - Validity dates are rare: a key valid always carries a flag bit; a key with dates has its
//   windows in a side table.
// - Ranges are few and may overlap: per length, sorted by `from`, with the running maximum of
//   `to` so a probe walks back only over ranges that can still contain the value.
#include "privileged/matcher.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "base/strings.h"

namespace tapvault::privileged {
namespace {

constexpr int64_t kOpenFrom = std::numeric_limits<int64_t>::min();
constexpr int64_t kOpenTo = std::numeric_limits<int64_t>::max();
constexpr int kLengthShift = 56;
constexpr int kFlagShift = 50;
constexpr uint64_t kFlagMask = uint64_t{0x3F} << kFlagShift;
constexpr uint64_t kValueMask = (uint64_t{1} << kFlagShift) - 1;

// Flag bits of a key or string.
constexpr uint8_t kAlwaysNumber = 1;  // a kNumber (or kUri/kEmail) entry without dates
constexpr uint8_t kAlwaysPrefix = 2;  // a kPrefix entry without dates
constexpr uint8_t kWindowed = 4;      // entries with dates: see the windows table

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "+digits" (1..15 digits) → key; nullopt otherwise.
std::optional<uint64_t> NumberKey(std::string_view s) {
  if (s.size() < 2 || s.size() > 1 + kMaxNumberDigits || s[0] != '+') return std::nullopt;
  uint64_t v = 0;
  for (char c : s.substr(1)) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return (static_cast<uint64_t>(s.size() - 1) << kLengthShift) | v;
}

std::string DigitsOf(uint64_t value, size_t length) {
  std::string out(length + 1, '0');
  out[0] = '+';
  for (size_t i = length; i > 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out;
}

std::string KeyText(uint64_t key) { return DigitsOf(key & kValueMask, key >> kLengthShift); }

// MurmurHash3's finaliser: keys of a list are dense (consecutive numbers), the slot must not be.
uint64_t Mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// The home slot of `key` in a table of `capacity` slots (multiply-shift range reduction).
size_t HomeSlot(uint64_t key, size_t capacity) {
  return static_cast<size_t>((static_cast<unsigned __int128>(Mix(key)) * capacity) >> 64);
}

struct Window {
  int64_t from_us, to_us;
  EntryType type;
};

bool InWindow(const Window& w, int64_t at_us) { return w.from_us <= at_us && at_us < w.to_us; }

struct Range {
  uint64_t from, to;
  int64_t from_us, to_us;
};

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The key table's slots, zero-filled. A probe is a random access into megabytes, so with 4 KiB
// pages most probes also miss the TLB; tables of 2 MiB and more are mapped with transparent huge
// pages requested (a hint: without them it works the same, slower).
class SlotArray {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;

  SlotArray() = default;
  explicit SlotArray(size_t n) : size_(n) {
    if (n == 0) return;
    size_t bytes = n * sizeof(uint64_t);
    if (bytes >= kHugePage) {
      mapped_bytes_ = (bytes + kHugePage - 1) / kHugePage * kHugePage;
      void* p = ::mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
      if (p != MAP_FAILED) {
        (void)::madvise(p, mapped_bytes_, MADV_HUGEPAGE);
        data_ = static_cast<uint64_t*>(p);  // anonymous memory is zero-filled
        return;
      }
      mapped_bytes_ = 0;
    }
    owned_ = std::make_unique<uint64_t[]>(n);
    data_ = owned_.get();
  }
  ~SlotArray() {
    if (mapped_bytes_ != 0) ::munmap(data_, mapped_bytes_);
  }
  SlotArray(const SlotArray&) = delete;
  SlotArray& operator=(const SlotArray&) = delete;
  SlotArray& operator=(SlotArray&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(mapped_bytes_, o.mapped_bytes_);
    std::swap(owned_, o.owned_);
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t bytes() const { return mapped_bytes_ != 0 ? mapped_bytes_ : size_ * sizeof(uint64_t); }
  uint64_t& operator[](size_t i) { return data_[i]; }
  uint64_t operator[](size_t i) const { return data_[i]; }

 private:
  uint64_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_bytes_ = 0;
  std::unique_ptr<uint64_t[]> owned_;
};

}  // namespace

struct Matcher::Impl {
  SlotArray slots;  // 0: empty; else key | flags << kFlagShift
  uint32_t key_lengths = 0;
  absl::flat_hash_map<uint64_t, std::vector<Window>> key_windows;

  std::array<std::vector<Range>, kMaxNumberDigits + 1> ranges;
  std::array<std::vector<uint64_t>, kMaxNumberDigits + 1> max_to;
  uint32_t range_lengths = 0;

  std::string arena;                                   // type byte + value, back to back
  std::vector<std::pair<uint32_t, uint32_t>> strings;  // (offset, length), sorted by text
  std::vector<uint8_t> string_flags;
  absl::flat_hash_map<uint32_t, std::vector<Window>> string_windows;

  std::string_view StringAt(size_t i) const {
    return std::string_view(arena).substr(strings[i].first, strings[i].second);
  }

  // The flags of `key`; 0 when it is not listed (a listed key has at least one flag bit).
  uint8_t FindKey(uint64_t key) const {
    if (slots.empty()) return 0;
    for (size_t i = HomeSlot(key, slots.size());;) {
      uint64_t s = slots[i];
      if (s == 0) return 0;
      if ((s & ~kFlagMask) == key) return static_cast<uint8_t>((s & kFlagMask) >> kFlagShift);
      if (++i == slots.size()) i = 0;
    }
  }

  // The type of an entry under `flags` valid at `at_us` (windows looked up in `windows` by `id`).
  template <typename Map, typename Id>
  static std::optional<EntryType> Valid(uint8_t flags, EntryType always_type, const Map& windows,
                                        Id id, int64_t at_us) {
    if (flags & kAlwaysNumber) return always_type;
    if (flags & kAlwaysPrefix) return EntryType::kPrefix;
    if (flags & kWindowed) {
      auto it = windows.find(id);
      if (it != windows.end()) {
        for (const Window& w : it->second) {
          if (InWindow(w, at_us)) return w.type;
        }
      }
    }
    return std::nullopt;
  }

  // Longest entries first: the most specific entry is the one reported.
  std::optional<Match> MatchNumber(std::string_view number, int64_t at_us) const {
    if (number.size() < 2 || number[0] != '+') return std::nullopt;
    std::string_view digits = number.substr(1);
    std::array<uint64_t, kMaxNumberDigits + 1> head{};  // head[n]: value of the first n digits
    size_t n = 0;
    for (; n < std::min(digits.size(), kMaxNumberDigits) && IsDigit(digits[n]); ++n) {
      head[n + 1] = head[n] * 10 + static_cast<uint64_t>(digits[n] - '0');
    }
    const uint32_t lengths = (key_lengths | range_lengths) & ((2u << n) - 1);
    for (size_t len = n; len > 0; --len) {
      if (!(lengths & (1u << len))) continue;
      const uint64_t v = head[len];
      if (key_lengths & (1u << len)) {
        uint64_t key = (static_cast<uint64_t>(len) << kLengthShift) | v;
        if (uint8_t flags = FindKey(key)) {
          if (auto type = Valid(flags, EntryType::kNumber, key_windows, key, at_us)) {
            return Match{*type, KeyText(key)};
          }
        }
      }
      if (range_lengths & (1u << len)) {
        const std::vector<Range>& rs = ranges[len];
        const std::vector<uint64_t>& mt = max_to[len];
        auto it = std::upper_bound(rs.begin(), rs.end(), v,
                                   [](uint64_t x, const Range& r) { return x < r.from; });
        for (ptrdiff_t i = (it - rs.begin()) - 1; i >= 0 && mt[static_cast<size_t>(i)] >= v; --i) {
          const Range& r = rs[static_cast<size_t>(i)];
          if (r.to >= v && r.from_us <= at_us && at_us < r.to_us) {
            return Match{EntryType::kRange,
                         base::StrCat(DigitsOf(r.from, len), "..", DigitsOf(r.to, len))};
          }
        }
      }
    }
    return std::nullopt;
  }

  std::optional<Match> MatchString(EntryType type, std::string_view value, int64_t at_us) const {
    if (strings.empty()) return std::nullopt;
    // Readings are canonical (lower case) already; folding again costs little and errs towards
    // protection if a caller passes a raw value.
    std::string folded;
    if (std::any_of(value.begin(), value.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      folded.assign(value);
      for (char& c : folded) c = Lower(c);
      value = folded;
    }
    const char t = static_cast<char>(type);
    auto less = [&](const std::pair<uint32_t, uint32_t>& s, int) {
      std::string_view sv = std::string_view(arena).substr(s.first, s.second);
      if (sv[0] != t) return sv[0] < t;
      return sv.substr(1) < value;
    };
    auto it = std::lower_bound(strings.begin(), strings.end(), 0, less);
    if (it == strings.end()) return std::nullopt;
    std::string_view found = std::string_view(arena).substr(it->first, it->second);
    if (found[0] != t || found.substr(1) != value) return std::nullopt;
    auto i = static_cast<uint32_t>(it - strings.begin());
    if (auto valid = Valid(string_flags[i], type, string_windows, i, at_us)) {
      return Match{type, std::string(found.substr(1))};
    }
    return std::nullopt;
  }
};

struct Matcher::Builder::Pending {
  struct NumberRec {
    uint64_t key;
    int64_t from_us, to_us;
    EntryType type;
  };
  struct StringRec {
    uint32_t offset, length;
    int64_t from_us, to_us;
  };
  std::vector<NumberRec> numbers;
  std::string arena;
  std::vector<StringRec> strings;
  std::array<std::vector<Range>, kMaxNumberDigits + 1> ranges;
  size_t added = 0;
};

Matcher::Builder::Builder() : p_(std::make_unique<Pending>()) {}
Matcher::Builder::~Builder() = default;

void Matcher::Builder::Reserve(size_t entries) { p_->numbers.reserve(entries); }

bool Matcher::Builder::Add(EntryType type, std::string_view value, std::string_view value_to,
                           std::optional<int64_t> valid_from_us,
                           std::optional<int64_t> valid_to_us) {
  int64_t from = valid_from_us.value_or(kOpenFrom);
  int64_t to = valid_to_us.value_or(kOpenTo);
  if (from >= to) return false;  // never valid
  switch (type) {
    case EntryType::kNumber:
    case EntryType::kPrefix: {
      std::optional<uint64_t> key = NumberKey(value);
      if (!key || !value_to.empty()) return false;
      p_->numbers.push_back({*key, from, to, type});
      break;
    }
    case EntryType::kRange: {
      std::optional<uint64_t> a = NumberKey(value), b = NumberKey(value_to);
      if (!a || !b || (*a >> kLengthShift) != (*b >> kLengthShift) || *a > *b) return false;
      constexpr uint64_t kMask = (uint64_t{1} << kLengthShift) - 1;
      p_->ranges[*a >> kLengthShift].push_back({*a & kMask, *b & kMask, from, to});
      break;
    }
    case EntryType::kUri:
    case EntryType::kEmail: {
      if (value.empty() || !value_to.empty() ||
          p_->arena.size() + value.size() + 1 > std::numeric_limits<uint32_t>::max()) {
        return false;
      }
      auto offset = static_cast<uint32_t>(p_->arena.size());
      p_->arena.push_back(static_cast<char>(type));
      for (char c : value) p_->arena.push_back(Lower(c));
      p_->strings.push_back({offset, static_cast<uint32_t>(value.size() + 1), from, to});
      break;
    }
    default:
      return false;
  }
  ++p_->added;
  return true;
}

std::unique_ptr<Matcher> Matcher::Builder::Finish() && {
  auto impl = std::make_unique<Impl>();
  Pending& p = *p_;

  std::sort(p.numbers.begin(), p.numbers.end(),
            [](const Pending::NumberRec& a, const Pending::NumberRec& b) { return a.key < b.key; });
  size_t distinct = 0;
  for (size_t i = 0; i < p.numbers.size(); ++i) {
    distinct += i == 0 || p.numbers[i].key != p.numbers[i - 1].key;
  }
  // Load ≤ 0.75, and at least one empty slot so that every probe ends.
  impl->slots = SlotArray(distinct == 0 ? 0 : distinct + distinct / 3 + 1);
  for (size_t i = 0; i < p.numbers.size();) {
    uint64_t key = p.numbers[i].key;
    uint8_t flags = 0;
    std::vector<Window> windows;
    for (; i < p.numbers.size() && p.numbers[i].key == key; ++i) {
      const Pending::NumberRec& r = p.numbers[i];
      if (r.from_us == kOpenFrom && r.to_us == kOpenTo) {
        flags |= r.type == EntryType::kNumber ? kAlwaysNumber : kAlwaysPrefix;
      } else {
        windows.push_back({r.from_us, r.to_us, r.type});
      }
    }
    if (!windows.empty()) {
      flags |= kWindowed;
      impl->key_windows.emplace(key, std::move(windows));
    }
    size_t slot = HomeSlot(key, impl->slots.size());
    while (impl->slots[slot] != 0) {
      if (++slot == impl->slots.size()) slot = 0;
    }
    impl->slots[slot] = key | (static_cast<uint64_t>(flags) << kFlagShift);
    impl->key_lengths |= 1u << (key >> kLengthShift);
  }
  std::vector<Pending::NumberRec>().swap(p.numbers);

  for (size_t len = 0; len < p.ranges.size(); ++len) {
    std::vector<Range>& rs = p.ranges[len];
    if (rs.empty()) continue;
    std::sort(rs.begin(), rs.end(), [](const Range& a, const Range& b) { return a.from < b.from; });
    uint64_t max = 0;
    for (const Range& r : rs) {
      max = std::max(max, r.to);
      impl->max_to[len].push_back(max);
    }
    impl->ranges[len] = std::move(rs);
    impl->range_lengths |= 1u << len;
  }

  std::string_view arena(p.arena);
  auto text = [&](const Pending::StringRec& r) { return arena.substr(r.offset, r.length); };
  std::sort(
      p.strings.begin(), p.strings.end(),
      [&](const Pending::StringRec& a, const Pending::StringRec& b) { return text(a) < text(b); });
  for (size_t i = 0; i < p.strings.size();) {
    std::string_view s = text(p.strings[i]);
    uint8_t flags = 0;
    std::vector<Window> windows;
    for (; i < p.strings.size() && text(p.strings[i]) == s; ++i) {
      const Pending::StringRec& r = p.strings[i];
      if (r.from_us == kOpenFrom && r.to_us == kOpenTo) {
        flags |= kAlwaysNumber;
      } else {
        windows.push_back({r.from_us, r.to_us, static_cast<EntryType>(s[0])});
      }
    }
    auto index = static_cast<uint32_t>(impl->strings.size());
    if (!windows.empty()) {
      flags |= kWindowed;
      impl->string_windows.emplace(index, std::move(windows));
    }
    impl->strings.emplace_back(static_cast<uint32_t>(impl->arena.size()),
                               static_cast<uint32_t>(s.size()));
    impl->arena.append(s);
    impl->string_flags.push_back(flags);
  }

  auto m = std::unique_ptr<Matcher>(new Matcher(std::move(impl)));
  m->size_ = p.added;
  p_.reset();
  return m;
}

Matcher::Matcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Matcher::~Matcher() = default;

std::unique_ptr<Matcher> Matcher::Build(std::vector<Entry> entries) {
  Builder b;
  b.Reserve(entries.size());
  size_t skipped = 0;
  for (const Entry& e : entries) {
    if (!b.Add(e.type, e.value, e.value_to, e.valid_from_us, e.valid_to_us)) ++skipped;
  }
  entries.clear();
  std::unique_ptr<Matcher> m = std::move(b).Finish();
  m->skipped_ = skipped;
  return m;
}

std::optional<Match> Matcher::MatchReadings(std::span<const identity::Reading> readings,
                                            int64_t at_us) const {
  for (const identity::Reading& r : readings) {
    std::optional<Match> m;
    switch (r.kind) {
      case identity::Reading::Kind::kNumber:
        m = impl_->MatchNumber(r.value, at_us);
        break;
      case identity::Reading::Kind::kUri:
        m = impl_->MatchString(EntryType::kUri, r.value, at_us);
        break;
      case identity::Reading::Kind::kEmail:
        m = impl_->MatchString(EntryType::kEmail, r.value, at_us);
        break;
    }
    if (m) return m;
  }
  return std::nullopt;
}

size_t Matcher::MemoryBytes() const {
  const Impl& i = *impl_;
  size_t bytes = sizeof(Impl) + i.slots.bytes() + i.arena.capacity() +
                 i.strings.capacity() * sizeof(i.strings[0]) + i.string_flags.capacity();
  for (size_t len = 0; len < i.ranges.size(); ++len) {
    bytes += i.ranges[len].capacity() * sizeof(Range) + i.max_to[len].capacity() * sizeof(uint64_t);
  }
  // flat_hash_map: one control byte and one slot per bucket, plus the window vectors.
  bytes += i.key_windows.bucket_count() * (1 + sizeof(std::pair<uint64_t, std::vector<Window>>));
  for (const auto& [k, w] : i.key_windows) bytes += w.capacity() * sizeof(Window);
  bytes += i.string_windows.bucket_count() * (1 + sizeof(std::pair<uint32_t, std::vector<Window>>));
  for (const auto& [k, w] : i.string_windows) bytes += w.capacity() * sizeof(Window);
  return bytes;
}

}  // namespace tapvault::privileged
