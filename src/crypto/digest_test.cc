#include "crypto/digest.h"

#include <openssl/sha.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>
#include <thread>

#include "gtest/gtest.h"

namespace tapvault::crypto {
namespace {

std::span<const uint8_t> U(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Sha256Digest OneShot(const std::string& s) {
  Sha256Digest d;
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

TEST(DigestTest, KnownAnswerAndPartsAreConcatenated) {
  // FIPS 180-2 example "abc".
  const Sha256Digest abc = Sha256({U("abc")});
  const uint8_t want[4] = {0xba, 0x78, 0x16, 0xbf};
  EXPECT_EQ(0, std::memcmp(abc.data(), want, 4));
  EXPECT_EQ(abc, OneShot("abc"));
  EXPECT_EQ(Sha256({U("a"), U(""), U("bc")}), abc);
  EXPECT_EQ(Sha256({}), OneShot(""));
  const std::string big(100000, 'q');
  EXPECT_EQ(Sha256({U(big.substr(0, 7)), U(big.substr(7))}), OneShot(big));
}

TEST(DigestTest, ThreadsKeepTheirOwnContext) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &wrong] {
      const std::string s(static_cast<size_t>(100 + t), static_cast<char>('a' + t));
      const Sha256Digest want = OneShot(s);
      for (int i = 0; i < 2000; ++i) {
        if (Sha256({U(s.substr(0, 10)), U(s.substr(10))}) != want) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace tapvault::crypto
