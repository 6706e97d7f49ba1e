#include "crypto/digest.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

namespace tapvault::crypto {

Sha256Digest Sha256(std::initializer_list<std::span<const uint8_t>> parts) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  Sha256Digest out;
  unsigned int len = 0;
  bool ok = md != nullptr && ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1;
  for (const auto& p : parts) ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1;
  if (!ok || len != out.size()) std::abort();  // SHA-256 cannot fail but for allocation failure
  return out;
}

}  // namespace tapvault::crypto
