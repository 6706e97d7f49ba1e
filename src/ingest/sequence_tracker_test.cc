#include "ingest/sequence_tracker.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tapvault::ingest {
namespace {

base::Bytes B(std::string_view s) { return base::AsBytes(s); }
base::Timestamp T(int64_t s) { return {s * 1000000}; }

TEST(SequenceTrackerTest, ClassifiesInOrderGapReorderDuplicateConflict) {
  SequenceTracker t({.window = 64});
  EXPECT_EQ(t.Observe("k", 5, B("a5"), T(1)), SequenceVerdict::kFirst);
  EXPECT_EQ(t.Observe("k", 6, B("a6"), T(1)), SequenceVerdict::kInOrder);
  EXPECT_EQ(t.Observe("k", 9, B("a9"), T(1)), SequenceVerdict::kGap);
  EXPECT_EQ(t.Observe("k", 8, B("a8"), T(1)), SequenceVerdict::kReordered);
  EXPECT_EQ(t.Observe("k", 8, B("a8"), T(1)), SequenceVerdict::kDuplicate);
  EXPECT_EQ(t.Observe("k", 6, B("a6"), T(1)), SequenceVerdict::kDuplicate);
  EXPECT_EQ(t.Observe("k", 6, B("X6"), T(1)), SequenceVerdict::kConflict);
  EXPECT_EQ(t.Observe("k", 10, B("a10"), T(1)), SequenceVerdict::kInOrder);
  SequenceCounts c = t.Counts();
  EXPECT_EQ(c.gaps, 1u);
  EXPECT_EQ(c.missing, 2u);
  EXPECT_EQ(c.reordered, 1u);
  EXPECT_EQ(c.duplicates, 2u);
  EXPECT_EQ(c.conflicts, 1u);
}

TEST(SequenceTrackerTest, ForgetUndoesOnlyThatPdu) {
  SequenceTracker t({});
  const std::string a = "a", b = "b";
  base::Timestamp now{1};
  EXPECT_EQ(t.Observe("k", 5, base::AsBytes(a), now), SequenceVerdict::kFirst);
  t.Forget("k", 5, base::AsBytes(b));  // other bytes: not the PDU that was seen
  EXPECT_EQ(t.Observe("k", 5, base::AsBytes(a), now), SequenceVerdict::kDuplicate);
  t.Forget("k", 5, base::AsBytes(a));
  EXPECT_EQ(t.Observe("k", 5, base::AsBytes(a), now), SequenceVerdict::kReordered);
  t.Forget("unknown", 1, base::AsBytes(a));  // no such stream: nothing happens
}

TEST(SequenceTrackerTest, KeysAreIndependentAndEmptyKeyIsUntracked) {
  SequenceTracker t({});
  EXPECT_EQ(t.Observe("a", 1, B("x"), T(1)), SequenceVerdict::kFirst);
  EXPECT_EQ(t.Observe("b", 1, B("x"), T(1)), SequenceVerdict::kFirst);
  EXPECT_EQ(t.Observe("", 1, B("x"), T(1)), SequenceVerdict::kUntracked);
  EXPECT_EQ(t.Observe("", 1, B("x"), T(1)), SequenceVerdict::kUntracked);
  EXPECT_EQ(t.KeyCount(), 2u);
}

TEST(SequenceTrackerTest, OlderThanWindowIsStale) {
  SequenceTracker t({.window = 8});
  for (uint32_t s = 0; s < 20; ++s) t.Observe("k", s, B(std::to_string(s)), T(1));
  EXPECT_EQ(t.Observe("k", 3, B("3"), T(1)), SequenceVerdict::kStale);
  EXPECT_EQ(t.Observe("k", 15, B("15"), T(1)), SequenceVerdict::kDuplicate);
}

TEST(SequenceTrackerTest, ReplayOfWholeWindowAfterReconnectIsAllDuplicates) {
  SequenceTracker t({.window = 1024});
  for (uint32_t s = 100; s < 600; ++s) t.Observe("k", s, B(std::to_string(s)), T(1));
  for (uint32_t s = 100; s < 600; ++s) {
    ASSERT_EQ(t.Observe("k", s, B(std::to_string(s)), T(2)), SequenceVerdict::kDuplicate) << s;
  }
  EXPECT_EQ(t.Observe("k", 600, B("600"), T(2)), SequenceVerdict::kInOrder);
}

TEST(SequenceTrackerTest, SequenceNumberWrapAtUint32MaxIsAGapNotACrash) {
  SequenceTracker t({.window = 16});
  EXPECT_EQ(t.Observe("k", 0xffffffffu, B("x"), T(1)), SequenceVerdict::kFirst);
  EXPECT_EQ(t.Observe("k", 0, B("y"), T(1)), SequenceVerdict::kStale);
}

TEST(SequenceTrackerTest, BoundedKeysAndIdleEviction) {
  SequenceTracker t({.window = 4, .max_keys = 64, .idle_timeout_us = 10 * 1000000});
  for (int i = 0; i < 1000; ++i) t.Observe(std::to_string(i), 1, B("x"), T(i));
  EXPECT_LE(t.KeyCount(), 64u);
  EXPECT_GT(t.KeyCount(), 0u);
  EXPECT_GT(t.EvictIdle(T(10000)), 0u);
  EXPECT_EQ(t.KeyCount(), 0u);
}

TEST(SequenceTrackerTest, ThreadSafeAcrossKeys) {
  SequenceTracker t({});
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&t, th] {
      for (uint32_t s = 0; s < 5000; ++s) t.Observe(std::to_string(th), s, B("x"), T(1));
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.KeyCount(), 4u);
  SequenceCounts c = t.Counts();
  EXPECT_EQ(c.gaps + c.duplicates + c.conflicts + c.reordered, 0u);
}

}  // namespace
}  // namespace tapvault::ingest
