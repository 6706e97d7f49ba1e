// The additional data that binds a wrapped key to its catalog row: a wrapped key copied into
// another row (another case, another communication) does not unwrap there.
#pragma once

#include <cstdint>
#include <string>

#include "base/strings.h"
#include "store/catalog.h"

namespace tapvault::store::internal {

inline std::string KeyContext(KeyKind kind, uint64_t id) {
  const char* name = kind == KeyKind::kWarrant ? "warrant-key"
                     : kind == KeyKind::kData  ? "data-key"
                                               : "signing-key";
  return base::StrCat("tapvault/", name, "/", id);
}

}  // namespace tapvault::store::internal
